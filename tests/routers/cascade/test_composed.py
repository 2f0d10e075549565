"""The composed route's replay: the router's pick decides where the cascade starts."""

from __future__ import annotations

import numpy as np

from routers.cascade.composed import Composed, composed_front, replay_composed, router_starts
from routers.cascade.parallel import Extended, replay_strategy
from routers.cascade.plan import allowed_stages
from routers.cascade.search import Outcomes
from routers.cascade.strategy import Stage, Strategy

MODELS = ["cheap", "mid", "dear"]
COST = np.array([1.0, 2.0, 10.0])


def ext() -> Extended:
    scores = np.array([[0.9, 0.2, 0.5], [0.1, 0.9, 0.5], [0.1, 0.1, 0.5]])
    outcomes = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    costs = np.tile(COST, (3, 1))
    return Extended(Outcomes(MODELS, scores, outcomes, costs), [[0], [1], [2]])


CHAIN = Strategy((Stage("cheap", 0.5), Stage("mid", 0.5), Stage("dear")))


def test_the_router_picks_by_quality_minus_lambda_cost() -> None:
    quality = np.array([[0.5, 0.6, 0.9]])
    assert router_starts(quality, COST, 0.0).tolist() == [2]
    assert router_starts(quality, COST, 1.0).tolist() == [0]
    assert router_starts(quality, COST, float("inf")).tolist() == [0]


def test_starting_at_the_first_stage_is_the_plain_cascade() -> None:
    quality = np.zeros((3, 3))  # λ = ∞: every row starts at the cheapest model
    cost, score, _ = replay_composed(Composed(CHAIN, float("inf")), ext(), MODELS, quality, COST)
    plain_cost, plain_score, _ = replay_strategy(CHAIN, ext(), 3)
    assert cost.tolist() == plain_cost.tolist() and score.tolist() == plain_score.tolist()
    assert cost.tolist() == [1.0, 3.0, 13.0]


def test_a_pick_of_the_dear_model_skips_the_cheap_stages() -> None:
    quality = np.array([[0.0, 0.0, 1.0]] * 3)
    cost, score, calls = replay_composed(Composed(CHAIN, 0.0), ext(), MODELS, quality, COST)
    assert cost.tolist() == [10.0, 10.0, 10.0]
    assert score.tolist() == [1.0, 1.0, 1.0]
    assert not calls[:, :2].any()


def test_the_front_keeps_only_settings_that_add_accuracy() -> None:
    quality = np.array([[0.9, 0.0, 0.5], [0.0, 0.9, 0.5], [0.0, 0.0, 0.9]])
    front = composed_front([CHAIN], [0.0, 0.05, float("inf")], ext(), MODELS, quality, COST)
    accuracies = [a for _, _, a in front]
    assert accuracies == sorted(accuracies) and len(set(accuracies)) == len(accuracies)


def test_a_parallel_stage_is_kept_only_when_both_models_are_allowed() -> None:
    strategy = Strategy((Stage("cheap&mid", 0.5), Stage("dear")))
    assert [s.model for s in allowed_stages(strategy, MODELS)] == ["cheap&mid", "dear"]
    assert [s.model for s in allowed_stages(strategy, ["cheap", "dear"])] == ["dear"]
