"""Retraining on stored text vectors: only misses are embedded, once, and written back; the
artifact is the one a cold retrain builds. Capture keeps a route's vector only for the very
text it stores."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from gateway.artifacts.stored_vectors import StoredVectorEmbedder, read_stored, write_fresh
from gateway.artifacts.train import RecordsRequest, split_for_training, train_knn_version
from gateway.records.capture import kept_vector
from gateway.records.memory import MemoryRecordStore
from gateway.records.vectors import as_array
from routers.base import PromptVector
from routers.datasets.text import embedding_text, text_hash
from routers.embedding import HashingEmbedder, Vectors
from routers.train_progress import EMBED_BATCH
from routers.versions.registry import ArtifactRegistry
from tests.gateway.artifacts.records_data import CountingEmbedder, labelled_store, outcomes

REQUEST = RecordsRequest(tenant="acme", command="costroute train knn --from-records", epochs=3)


class SpyStored(StoredVectorEmbedder):
    """Records every call, to see the held-out replay go through this embedder."""

    calls: list[list[str]]

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls = [*getattr(self, "calls", []), list(texts)]
        return super().embed(texts)


def test_only_misses_are_embedded_once_and_kept_for_writing_back() -> None:
    texts = ["alpha beta", "gamma delta", "alpha beta", "epsilon"]
    stored = {text_hash("gamma delta"): HashingEmbedder().embed(["gamma delta"])[0]}
    counting = CountingEmbedder()
    embedder = StoredVectorEmbedder(counting, stored)
    assert embedder.known(texts) == 1
    out = embedder.embed(texts)
    assert np.array_equal(out, HashingEmbedder().embed(texts))
    assert counting.texts == ["alpha beta", "epsilon"]
    embedder.embed(texts)  # a second pass (the held-out replay) embeds nothing
    assert counting.texts == ["alpha beta", "epsilon"]
    assert set(embedder.fresh) == {text_hash("alpha beta"), text_hash("epsilon")}

    store = MemoryRecordStore()
    assert asyncio.run(write_fresh(store, embedder)) == 2 and embedder.fresh == {}
    back = asyncio.run(read_stored(store, "hashing", texts))
    assert set(back) == {text_hash("alpha beta"), text_hash("epsilon")}
    assert asyncio.run(read_stored(store, "hashing", texts, dim=8)) == {}  # another width


def test_a_retrain_on_stored_vectors_embeds_nothing_and_builds_the_same_version(
        tmp_path: Path) -> None:
    rows = outcomes(labelled_store())
    store = MemoryRecordStore()
    texts = [embedding_text(o.prompt) for o in rows]
    cold = CountingEmbedder()
    first_embedder = StoredVectorEmbedder(cold, asyncio.run(read_stored(store, "hashing", texts)))
    first = train_knn_version(rows, ArtifactRegistry(tmp_path / "a"), REQUEST, first_embedder,
                              resamples=100)
    # Every prompt, training and held-out, embedded exactly once.
    assert sorted(cold.texts) == sorted(set(texts))
    asyncio.run(write_fresh(store, first_embedder))

    warm = CountingEmbedder()
    second_embedder = SpyStored(warm, asyncio.run(read_stored(store, "hashing", texts)))
    second = train_knn_version(rows, ArtifactRegistry(tmp_path / "b"), REQUEST, second_embedder,
                               resamples=100)
    assert warm.texts == [] and second_embedder.fresh == {}
    # The held-out replay embedded its prompts through this embedder, not a process-wide one.
    held = split_for_training(rows, "acme").held
    assert held is not None
    held_texts = [embedding_text(p) for p in held.prompts]
    assert len(held_texts) <= EMBED_BATCH  # so the bar's pass is one call too
    assert sum(call == held_texts for call in second_embedder.calls) == 2  # bar, then replay
    assert second.manifest["version"]["metrics"] == first.manifest["version"]["metrics"]
    assert second.manifest["version"]["data"] == first.manifest["version"]["data"]


@pytest.mark.parametrize(("routed_text", "captured", "kept"), [
    ("what is 2+2", "what is 2+2", True),
    ("what is 2+2", "mail [REDACTED:email]", False),  # redaction changed the prompt
    ("another text", "what is 2+2", False),  # not the vector of the captured text
])
def test_capture_keeps_the_routes_vector_only_for_the_text_it_stores(
        routed_text: str, captured: str, kept: bool) -> None:
    vector = HashingEmbedder().embed([routed_text])[0]
    found = kept_vector(PromptVector(routed_text, "hashing", vector), "what is 2+2", captured)
    if not kept:
        assert found is None
        return
    assert found is not None and found.key == text_hash("what is 2+2")
    assert found.encoder == "hashing" and np.array_equal(as_array(found), vector)
    assert kept_vector(None, "what is 2+2", "what is 2+2") is None
