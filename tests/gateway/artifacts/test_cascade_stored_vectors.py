"""`train cascade --from-records` on stored vectors: the answers' vectors are written back
like the prompts', so the next retrain of the same traffic embeds nothing and builds the
same version; a cold retrain embeds each distinct text once, and of the answers only those
of the rows that choose the scorer when the fast one is kept."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest

from gateway.artifacts.stored_vectors import StoredVectorEmbedder, read_stored, write_fresh
from gateway.artifacts.train import RecordsRequest
from gateway.artifacts.train_cascade import train_cascade_version
from gateway.records.sqlite import SQLiteRecordStore
from routers.cascade import train
from routers.cascade.features import answer_text
from routers.cascade.fit_scorer import ScorerConfig
from routers.cascade.train import CascadeConfig
from routers.datasets.text import embedding_text
from routers.versions.registry import ArtifactRegistry
from tests.gateway.artifacts.records_data import CountingEmbedder, answered_records
from tests.routers.cascade.synthetic import arithmetic_dataset
from tests.routers.cascade.test_train import StageLog

REQUEST = RecordsRequest(tenant="acme", route="router:cascade",
                         command="costroute train cascade --from-records")
N = 240
AUTO = CascadeConfig(scorer=ScorerConfig(embed_answer=False), choose_scorer=True,
                     choice_rows=60, compare_frugalgpt=False)


def filled_store(path: Path) -> SQLiteRecordStore:
    store = SQLiteRecordStore(path)
    records, labels = answered_records(arithmetic_dataset(N, seed=6))
    asyncio.run(store.write_requests(records))
    asyncio.run(store.write_labels(labels))
    return store


def retrain(store: SQLiteRecordStore, registry: Path, counting: CountingEmbedder,
            log: StageLog) -> tuple[dict, StoredVectorEmbedder]:
    """What the command does: read the stored vectors, train, write back what it embedded."""
    outcomes = asyncio.run(store.outcomes("acme"))
    answers = asyncio.run(store.answers("acme"))
    texts = ([embedding_text(o.prompt) for o in outcomes]
             + [answer_text(a.answer) for a in answers if a.answer is not None])
    embedder = StoredVectorEmbedder(counting, asyncio.run(read_stored(store, "hashing", texts)))
    trained = train_cascade_version(outcomes, answers, ArtifactRegistry(registry), REQUEST,
                                    embedder, AUTO, log, resamples=100)
    asyncio.run(write_fresh(store, embedder))
    return trained.manifest, embedder


@pytest.mark.parametrize("fast_kept", [True, False])
def test_the_next_retrain_reuses_every_prompt_and_answer_vector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_kept: bool) -> None:
    # A tolerance no AUROC gap crosses fixes the choice, whatever these data say.
    monkeypatch.setattr(train, "FAST_SCORER_TOLERANCE", 1.0 if fast_kept else -1.0)
    store = filled_store(tmp_path / "records.sqlite3")
    try:
        cold, cold_log = CountingEmbedder(), StageLog()
        first, first_embedder = retrain(store, tmp_path / "a", cold, cold_log)
        embedded = Counter(cold.texts)
        assert embedded and max(embedded.values()) == 1  # each distinct text once
        answers = {answer_text(a.answer) for a in asyncio.run(store.answers("acme"))
                   if a.answer is not None}
        embedded_answers = answers & set(embedded)
        # Fast kept: the answers of the choice sample only; full: every training answer.
        assert (len(embedded_answers) < len(answers) * 0.6) == fast_kept
        assert first_embedder.embedded == len(embedded)

        warm, warm_log = CountingEmbedder(), StageLog()
        second, second_embedder = retrain(store, tmp_path / "b", warm, warm_log)
        assert warm.texts == [] and second_embedder.embedded == 0
        assert second_embedder.reused >= len(embedded_answers)
        assert second["version"]["metrics"] == first["version"]["metrics"]
        assert second["strategy"] == first["strategy"]

        # Every embedding phase says what it embeds and what the records already held.
        # (Cold, the held-out answers that repeat a training answer are known already.)
        assert any(re.fullmatch(r"embedding \d+ held-out texts \(hashing; \d+ reused from "
                                r"records\)", line) for line in cold_log.lines)
        again = next(line for line in warm_log.lines if "held-out texts" in line)
        count = int(again.split()[1].replace(",", ""))
        assert again.endswith(f"(hashing; {count:,} reused from records)")
        sample = next(line for line in warm_log.lines if "sample that chooses" in line)
        assert sample.endswith(" reused from records")
    finally:
        asyncio.run(store.aclose())
