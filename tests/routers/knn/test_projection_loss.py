"""Projection, descriptors and the cost-spectrum InfoNCE behave as documented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from routers.knn.descriptors import outcome_descriptors
from routers.knn.loss import cost_bands, cost_spectrum_info_nce
from routers.knn.projection import Projection, normalise_rows


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return normalise_rows(rng.normal(size=(n, d)).astype(np.float32))


def test_identity_projection_keeps_vectors(tmp_path: Path) -> None:
    x = _unit(np.random.default_rng(0), 5, 8)
    proj = Projection.identity(8)
    np.testing.assert_allclose(proj.apply(x), x, atol=1e-6)
    proj.save(tmp_path / "p.npz")
    np.testing.assert_allclose(Projection.load(tmp_path / "p.npz").apply(x), x, atol=1e-6)


def test_descriptor_points_at_the_prompts_a_model_wins() -> None:
    rng = np.random.default_rng(0)
    topic_a, topic_b = _unit(rng, 1, 16)[0], _unit(rng, 1, 16)[0]
    x = normalise_rows(np.vstack([topic_a + 0.1 * rng.normal(size=(50, 16)),
                                  topic_b + 0.1 * rng.normal(size=(50, 16))]).astype(np.float32))
    # Model 0 wins topic a, model 1 wins topic b; model 2 is never measured.
    scores = np.vstack([np.tile([1.0, 0.0, np.nan], (50, 1)), np.tile([0.0, 1.0, np.nan], (50, 1))])
    d = outcome_descriptors(x, scores)
    # A descriptor is the contrast "where this model beats the others": towards a, away from b.
    assert float(d[0] @ topic_a) > 0.5 and float(d[0] @ topic_b) < 0
    assert float(d[1] @ topic_b) > 0.5 and float(d[1] @ topic_a) < 0
    assert np.all(np.isfinite(d))


def test_cost_bands_split_by_percentile() -> None:
    assert cost_bands(np.array([0.0, 1.0])) == [[0, 1]]  # √2 rounds to one band
    bands = cost_bands(np.array([0.0, 0.0, 0.1, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0]))
    assert len(bands) == 3 and bands[0][0] == 0 and 8 in bands[-1]
    assert sorted(j for b in bands for j in b) == list(range(9))


def _loss(z: torch.Tensor, labels: list[list[float]], gamma: float = 0.2) -> float:
    descriptors = torch.eye(2)
    cost = torch.tensor([0.0, 1.0])
    return float(cost_spectrum_info_nce(
        torch.nn.functional.normalize(z, dim=1), descriptors, torch.tensor(labels), cost,
        [[0], [1]], gamma=gamma,
    ))


def test_loss_prefers_pointing_at_the_correct_model() -> None:
    towards_right = _loss(torch.tensor([[1.0, 0.0]]), [[1.0, 0.0]])
    towards_wrong = _loss(torch.tensor([[0.0, 1.0]]), [[1.0, 0.0]])
    assert towards_right < towards_wrong


def test_when_both_are_right_the_cheap_model_is_preferred() -> None:
    # The cheap band's lower temperature pulls harder than the expensive band's.
    at_cheap = _loss(torch.tensor([[1.0, 0.0]]), [[1.0, 1.0]])
    at_expensive = _loss(torch.tensor([[0.0, 1.0]]), [[1.0, 1.0]])
    assert at_cheap < at_expensive


def test_rows_without_positives_do_not_count() -> None:
    assert _loss(torch.tensor([[1.0, 0.0]]), [[0.0, 0.0]]) == pytest.approx(0.0)
    nan_label = _loss(torch.tensor([[1.0, 0.0]]), [[float("nan"), 1.0]])
    assert np.isfinite(nan_label)
