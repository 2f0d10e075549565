"""`fit_cascade` with `--scorer auto`: the answers are embedded for the rows that choose the
scorer, and for every row only when the full scorer is kept; each distinct text once."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from routers.cascade import train
from routers.cascade.features import answer_text
from routers.cascade.fit_scorer import ScorerConfig
from routers.cascade.train import CascadeConfig, fit_cascade, sample_rows
from routers.datasets.text import embedding_text
from tests.gateway.artifacts.records_data import CountingEmbedder
from tests.routers.cascade.synthetic import MODELS, arithmetic_dataset

N = 240
SAMPLE = 60
AUTO = CascadeConfig(scorer=ScorerConfig(embed_answer=False), choose_scorer=True,
                     choice_rows=SAMPLE, compare_frugalgpt=False)


class StageLog:
    """A TrainProgress keeping the stage lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def stage(self, description: str, total: int | None = None) -> None:
        self.lines.append(description)

    def advance(self, steps: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def answers_of(ds, rows) -> set[str]:
    return {answer_text(ds.responses[m][i] or "") for i in rows for m in MODELS}


@pytest.mark.parametrize(("tolerance", "kept"), [(1.0, "fast"), (-1.0, "full")])
def test_the_choice_embeds_the_answers_of_its_sample_and_all_only_for_the_full_scorer(
        monkeypatch: pytest.MonkeyPatch, tolerance: float, kept: str) -> None:
    # A tolerance no AUROC gap can cross decides the choice, whatever these data say.
    monkeypatch.setattr(train, "FAST_SCORER_TOLERANCE", tolerance)
    ds = arithmetic_dataset(N, seed=4)
    counting, log = CountingEmbedder(), StageLog()
    trained = fit_cascade(ds, counting, AUTO, log)
    choice = trained.artifact.manifest["scorer"]["choice"]
    assert choice["chosen"] == kept and (choice["rows"], choice["of_rows"]) == (SAMPLE, N)
    sample = sample_rows(ds.prompts, SAMPLE, AUTO.seed)
    prompts = {embedding_text(p) for p in ds.prompts}
    answered = answers_of(ds, range(N) if kept == "full" else sample)
    assert answers_of(ds, sample) < answers_of(ds, range(N))  # the sample saves something
    embedded = Counter(counting.texts)
    assert set(embedded) == prompts | answered
    # Each distinct text once: the full scorer's pass over every row skips the sample's.
    assert max(embedded.values()) == 1
    assert trained.artifact.manifest["scorer"]["embed_answer"] == (kept == "full")
    assert log.lines[0] == f"embedding {len(prompts):,} distinct prompts"
    assert log.lines[1] == (f"embedding {len(answers_of(ds, sample)):,} distinct answers of 3 "
                            f"models of the {SAMPLE}-row sample that chooses the scorer")
    assert log.lines[2:4] == [f"choosing the scorer: full, {SAMPLE} rows",
                              f"choosing the scorer: fast, {SAMPLE} rows"]
    rest = len(answers_of(ds, range(N)) - answers_of(ds, sample))
    assert (f"embedding {rest:,} distinct answers of 3 models; "
            f"{len(answers_of(ds, sample)):,} embedded before" in log.lines) == (kept == "full")


def test_data_no_larger_than_the_sample_choose_on_every_row() -> None:
    ds = arithmetic_dataset(50, seed=4)
    counting = CountingEmbedder()
    trained = fit_cascade(ds, counting, AUTO)
    assert trained.artifact.manifest["scorer"]["choice"]["rows"] == 50
    assert answers_of(ds, range(50)) <= set(counting.texts)


def test_the_sample_of_more_traffic_keeps_every_earlier_prompt_still_in_its_rank() -> None:
    # Rows are picked by a seeded hash of their prompt: a prompt sampled from the larger
    # traffic was sampled from the earlier part too, so its answer vectors were stored then.
    prompts = [f"question {i}: what is {i} + {2 * i}?" for i in range(1000)]
    early, later = sample_rows(prompts[:800], 200, 0), sample_rows(prompts, 200, 0)
    assert len(early) == len(later) == 200 and list(early) == sorted(early)
    assert set(later[later < 800]) <= set(early)
    assert len(set(later) & set(early)) >= 120  # most of the sample carries over
    assert not np.array_equal(sample_rows(prompts, 200, 1), later)  # the seed matters
    assert list(sample_rows(prompts[:150], 200, 0)) == list(range(150))
