"""A served cascade embeds answers with the encoder its scorer was trained with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from routers.cascade.artifact import CascadeArtifact
from routers.cascade.orchestrator import scorer_embedder
from routers.cascade.strategy import Strategy
from routers.embedding import EncoderMismatch, HashingEmbedder, MiniLMEmbedder
from routers.static_embedding import MODEL_ENV, STATIC_NAME, StaticEmbedder
from tests.routers.test_static_embedding import write_static_model


def _artifact(scorer: dict[str, object]) -> CascadeArtifact:
    strategy = Strategy(stages=())
    return CascadeArtifact(heads={}, strategy=strategy, pareto=[], manifest={"scorer": scorer})


@pytest.fixture()
def static16(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from routers import embedding

    model = write_static_model(tmp_path / "static16", dims=16)
    monkeypatch.setenv(MODEL_ENV, str(model))
    embedding.shared_embedder.cache_clear()
    yield model
    embedding.shared_embedder.cache_clear()


def test_a_static_scorer_is_served_with_the_static_encoder(static16: Path) -> None:
    embedder = scorer_embedder(_artifact({"embedder": f"{STATIC_NAME}-16", "dim": 16}))
    assert embedder.name == f"{STATIC_NAME}-16"
    assert isinstance(embedder.inner, StaticEmbedder)  # type: ignore[attr-defined]
    assert embedder.embed(["a question"]).shape == (1, 16)


def test_a_width_the_encoder_does_not_give_refuses_to_load(static16: Path) -> None:
    with pytest.raises(EncoderMismatch, match="trained on 384-dim vectors"):
        scorer_embedder(_artifact({"embedder": f"{STATIC_NAME}-16", "dim": 384}))


def test_the_hashing_test_encoder_keeps_its_width() -> None:
    embedder = scorer_embedder(_artifact({"embedder": HashingEmbedder.name, "dim": 32}))
    assert isinstance(embedder, HashingEmbedder) and embedder.dim == 32


def test_artifacts_without_the_field_are_minilm() -> None:
    # Resolving the name loads nothing: the model loads on first use.
    assert scorer_embedder(_artifact({})).name == MiniLMEmbedder.name
