"""Neighbour predictions skip unknown outcomes; the batch choice agrees with routers.choose."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routers.base import Objective, Policy
from routers.choose import Scored, rank
from routers.knn.predict import KnnParams, blend_costs, choose, neighbour_predictions


def test_unknown_outcomes_are_skipped_and_prior_fills_in() -> None:
    scores = np.array([[1.0, np.nan], [1.0, np.nan], [0.0, 1.0]])
    costs = np.ones_like(scores)
    sims = np.array([[1.0, 1.0]], dtype=np.float32)
    idx = np.array([[0, 1]])
    priors = np.array([0.5, 0.8])
    params = KnnParams(k=2, prior_weight=1e-9)
    quality, cost = neighbour_predictions(sims, idx, scores, costs, params, priors)
    assert quality[0, 0] == pytest.approx(1.0)
    # Neither neighbour knows model 1: its prior stands, and its cost is unknown.
    assert quality[0, 1] == pytest.approx(0.8)
    assert math.isnan(cost[0, 1])


def test_closer_neighbours_weigh_more() -> None:
    scores = np.array([[1.0], [0.0]])
    sims = np.array([[0.95, 0.5]], dtype=np.float32)
    quality, _ = neighbour_predictions(
        sims, np.array([[0, 1]]), scores, np.ones_like(scores), KnnParams(k=2, tau=0.05, prior_weight=0)
    )
    assert quality[0, 0] > 0.99


def test_padding_ids_are_ignored() -> None:
    scores = np.array([[0.0]])
    quality, _ = neighbour_predictions(
        np.array([[1.0, -3.4e38]], dtype=np.float32), np.array([[0, -1]]), scores,
        np.ones_like(scores), KnnParams(k=2, prior_weight=1e-9), np.array([1.0]),
    )
    assert quality[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_blend_uses_whichever_cost_exists() -> None:
    neighbour = np.array([[2.0, np.nan, 4.0]])
    estimate = np.array([[1.0, 3.0, np.nan]])
    np.testing.assert_allclose(blend_costs(neighbour, estimate, 0.5), [[1.5, 3.0, 4.0]])
    np.testing.assert_allclose(blend_costs(neighbour, None, 0.5), neighbour)


@pytest.mark.parametrize("objective", ["max_utility", "cheapest_within_eps", "quality_target"])
def test_batch_choice_matches_rank(objective: Objective) -> None:
    rng = np.random.default_rng(1)
    models = ["a", "b", "c", "d"]
    knobs = {"max_utility": [0.0, 0.5, 5.0, 1e9],
             "cheapest_within_eps": [0.0, 0.05, 0.3],
             "quality_target": [0.2, 0.6, 0.99]}[objective]
    quality = rng.choice([0.2, 0.5, 0.7, 0.9], size=(200, 4))
    cost = rng.choice([1e-5, 1e-4, 1e-3], size=(200, 4))
    for knob in knobs:
        picked = choose(quality, cost, objective, knob)
        for i in range(200):
            options = [Scored(m, quality[i, j], cost[i, j]) for j, m in enumerate(models)]
            expected = rank(options, Policy(objective=objective, knob=knob))[0]
            got = models[picked[i]]
            # Exact ties may resolve to either model; they must score the same.
            assert (quality[i, picked[i]], cost[i, picked[i]]) == (
                expected.quality, expected.cost_usd
            ), (objective, knob, i, got, expected)


def test_disallowed_models_are_never_chosen() -> None:
    quality = np.array([[0.9, 0.1]])
    cost = np.array([[1.0, 1.0]])
    allowed = np.array([False, True])
    assert choose(quality, cost, "max_utility", 0.0, allowed)[0] == 1
    with pytest.raises(ValueError):
        choose(quality, cost, "max_utility", 0.0, np.array([False, False]))
