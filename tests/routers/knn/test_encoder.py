"""The encoder an artifact records is the one its router embeds queries with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from routers.base import Policy
from routers.embedding import HashingEmbedder, UnknownEncoder
from routers.knn.artifact import KnnArtifact, load_artifact, save_artifact
from routers.knn.fit import fit_knn
from routers.knn.router import EncoderMismatch, KnnRouter, load_knn_router
from routers.static_embedding import MODEL_ENV, STATIC_NAME, StaticEmbedder
from tests.routers.knn.conftest import FAST
from tests.routers.knn.synthetic import BIG, CHEAP, EASY_WORDS, HARD_WORDS, synthetic
from tests.routers.knn.test_router import CANDIDATES, _request
from tests.routers.test_static_embedding import write_static_model


@pytest.fixture(scope="module")
def static_fit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, KnnArtifact, Path]:
    """(16-dim static model, the artifact fitted with it, its saved directory): fitted once."""
    root = tmp_path_factory.mktemp("static")
    model = write_static_model(root / "static16", dims=16)
    fitted = fit_knn(synthetic(), StaticEmbedder(model), FAST)
    save_artifact(fitted, root / "artifact")
    return model, fitted, root / "artifact"


@pytest.fixture()
def static_artifact(
    static_fit: tuple[Path, KnnArtifact, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The saved static artifact, with the environment pointing at its model."""
    from routers import embedding

    monkeypatch.setenv(MODEL_ENV, str(static_fit[0]))
    embedding.shared_embedder.cache_clear()
    yield static_fit[2]
    embedding.shared_embedder.cache_clear()


def test_a_static_artifact_round_trips_and_routes(
    static_artifact: Path, static_fit: tuple[Path, KnnArtifact, Path]
) -> None:
    manifest = json.loads((static_artifact / "manifest.json").read_text())
    assert manifest["embedder"] == f"{STATIC_NAME}-16"
    router = load_knn_router(static_artifact)
    assert isinstance(router.embedder.inner, StaticEmbedder)  # type: ignore[attr-defined]
    policy = Policy(objective="cheapest_within_eps", knob=0.2)
    assert router.route(_request(EASY_WORDS), CANDIDATES, policy).model == CHEAP
    assert router.route(_request(HARD_WORDS), CANDIDATES, policy).model == BIG
    # Stored vectors are float16; the reloaded router predicts what the fitted one did.
    raw = router.embed_prompts(synthetic(20, seed=3).prompts)
    fitted = KnnRouter(static_fit[1])
    np.testing.assert_allclose(router.predict(raw)[0], fitted.predict(raw)[0], atol=1e-2)


def test_a_static_artifact_scans_a_float16_index(
    static_artifact: Path, static_fit: tuple[Path, KnnArtifact, Path]
) -> None:
    from routers.knn.index import build_index, index_kind, search

    manifest = json.loads((static_artifact / "manifest.json").read_text())
    assert manifest["index"]["type"] == "flat16"
    assert index_kind(load_artifact(static_artifact).ensure_index()) == "flat16"
    # The same neighbours as the float32 scan, similarities within float16 rounding.
    vectors = static_fit[1].raw
    queries = vectors[:10] + 0.01
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact_sims, exact_ids = search(build_index(vectors, "flat"), queries, 8)
    half_sims, half_ids = search(build_index(vectors, "flat16"), queries, 8)
    np.testing.assert_allclose(half_sims, exact_sims, atol=2e-3)
    assert np.mean(half_ids == exact_ids) > 0.9  # ties may swap places


def test_another_encoder_is_refused(static_artifact: Path) -> None:
    with pytest.raises(EncoderMismatch, match=f"built with encoder '{STATIC_NAME}-16'"):
        load_knn_router(static_artifact, embedder=HashingEmbedder(dim=16))


def test_a_static_model_of_another_width_is_refused(
        static_artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from routers import embedding

    monkeypatch.setenv(MODEL_ENV, str(write_static_model(tmp_path / "static32", dims=32)))
    embedding.shared_embedder.cache_clear()
    with pytest.raises(UnknownEncoder, match=f"unknown encoder '{STATIC_NAME}-16'"):
        load_knn_router(static_artifact)


def test_an_unknown_encoder_fails_at_load(artifact_dir: Path) -> None:
    path = artifact_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["embedder"] == "hashing"
    manifest["embedder"] = "word2vec-google-news"
    path.write_text(json.dumps(manifest))
    with pytest.raises(UnknownEncoder, match="word2vec-google-news"):
        load_knn_router(artifact_dir)


def test_artifacts_from_before_the_field_mean_minilm(artifact_dir: Path) -> None:
    path = artifact_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["embedder"]
    path.write_text(json.dumps(manifest))
    loaded = load_artifact(artifact_dir)
    with pytest.raises(EncoderMismatch, match="'all-MiniLM-L6-v2'"):
        KnnRouter(loaded, embedder=HashingEmbedder(dim=loaded.raw.shape[1]))


def test_only_small_static_artifacts_default_to_float16() -> None:
    from routers.knn.index import HNSW_FROM, kind_for_encoder

    static = f"{STATIC_NAME}-384"
    assert kind_for_encoder("auto", static, 100) == "flat16"
    assert kind_for_encoder("auto", static, HNSW_FROM) == "auto"  # HNSW's size: HNSW
    assert kind_for_encoder("flat", static, 100) == "flat"  # an explicit --index wins
    assert kind_for_encoder("auto", "all-MiniLM-L6-v2", 100) == "auto"
