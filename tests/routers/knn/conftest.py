"""Fixtures for the k-NN router tests: shared data path, a small trained artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

from routers.embedding import HashingEmbedder
from routers.knn.artifact import KnnArtifact, save_artifact
from routers.knn.fit import FitConfig, fit_knn
from routers.knn.predict import KnnParams
from routers.knn.train import TrainConfig
from tests.gateway.conftest import _clean_simulator, gateway_factory, sim
from tests.routers.knn.synthetic import synthetic

__all__ = ["_clean_simulator", "gateway_factory", "sim"]  # for the end-to-end serving tests

FAST = FitConfig(params=KnnParams(k=8), train=TrainConfig(epochs=5, batch_size=64))


@pytest.fixture(scope="session")
def routing_data() -> Path:
    """`../shared/data/routing` relative to the repo root; skips when it is not there."""
    path = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "routing"
    if not path.is_dir():
        pytest.skip("shared reference data not available")
    return path


@pytest.fixture(scope="session")
def trained() -> KnnArtifact:
    """An artifact trained on the synthetic data with the hashing embedder."""
    return fit_knn(synthetic(), HashingEmbedder(), FAST)


@pytest.fixture()
def artifact_dir(tmp_path: Path, trained: KnnArtifact) -> Path:
    directory = tmp_path / "artifact"
    save_artifact(trained, directory)
    return directory
