"""The margin gate: how sure a ranked decision is, and the threshold fitted on held-out data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routers.base import Policy
from routers.choose import Scored, rank
from routers.knn.gate import (
    Gate,
    Predictions,
    decision_margin,
    fit_gate,
    margins,
    objective_knobs,
    two_stage_choices,
    utility_margins,
)
from routers.knn.predict import choose

OPTIONS = [Scored("cheap", 0.60, 1e-5), Scored("mid", 0.70, 1e-4), Scored("big", 0.90, 1e-3)]


def test_the_utility_margin_is_the_gap_between_winner_and_runner_up() -> None:
    for knob in (0.0, 0.1, 1.0):
        policy = Policy("max_utility", knob)
        ranked = rank(OPTIONS, policy)
        utility = [o.quality - knob * 1000 * o.cost_usd for o in ranked]
        assert decision_margin(ranked, policy) == pytest.approx(utility[0] - utility[1])
        quality = np.array([[o.quality for o in OPTIONS]])
        cost = np.array([[o.cost_usd for o in OPTIONS]])
        assert utility_margins(quality, cost, knob)[0] == pytest.approx(utility[0] - utility[1])
    assert decision_margin(rank(OPTIONS, Policy("max_utility", math.inf)),
                           Policy("max_utility", math.inf)) == math.inf
    assert decision_margin(OPTIONS[:1], Policy("max_utility", 0.0)) == math.inf


def test_threshold_objectives_measure_the_distance_to_the_cut() -> None:
    eps = Policy("cheapest_within_eps", 0.25)  # cut at 0.65: mid is 0.05 above it
    assert decision_margin(rank(OPTIONS, eps), eps) == pytest.approx(0.05)
    target = Policy("quality_target", 0.68)  # mid is 0.02 above the target
    assert decision_margin(rank(OPTIONS, target), target) == pytest.approx(0.02)


@pytest.mark.parametrize("objective, knobs", [
    ("max_utility", [0.0, 0.1, 1.0]),
    ("cheapest_within_eps", [0.0, 0.05, 0.2]),
    ("quality_target", [0.3, 0.6, 0.9]),
])
def test_offline_margins_are_the_online_margins_row_by_row(objective: str,
                                                           knobs: list[float]) -> None:
    """What calibration and the gate's fit compute offline is what the router gates on."""
    rng = np.random.default_rng(3)
    quality = rng.uniform(0, 1, size=(200, 4))
    cost = np.tile([1e-5, 1e-4, 5e-4, 1e-3], (200, 1))
    names = ["a", "b", "c", "d"]
    for knob in knobs:
        policy = Policy(objective, knob)  # type: ignore[arg-type]
        offline = margins(quality, cost, objective, knob)  # type: ignore[arg-type]
        for row in range(len(quality)):
            options = [Scored(n, float(q), float(c))
                       for n, q, c in zip(names, quality[row], cost[row])]
            assert offline[row] == pytest.approx(decision_margin(rank(options, policy), policy))


def test_two_stage_choices_follow_the_gate_under_every_objective() -> None:
    rng = np.random.default_rng(4)
    second = Predictions(rng.uniform(0, 1, size=(300, 3)), np.tile([1e-5, 1e-4, 1e-3], (300, 1)))
    first = Predictions(np.clip(second.quality + rng.normal(scale=0.2, size=(300, 3)), 0, 1),
                        second.cost)
    for objective, knob in (("cheapest_within_eps", 0.1), ("quality_target", 0.5)):
        picked, sure = two_stage_choices(first, second, knob, 0.05, objective=objective)  # type: ignore[arg-type]
        assert 0 < sure.mean() < 1
        one = choose(first.quality, first.cost, objective, knob)  # type: ignore[arg-type]
        two = choose(second.quality, second.cost, objective, knob)  # type: ignore[arg-type]
        assert (picked[sure] == one[sure]).all() and (picked[~sure] == two[~sure]).all()
        assert (sure == (margins(first.quality, first.cost, objective, knob) >= 0.05)).all()  # type: ignore[arg-type]


def _held_out(n: int = 400, seed: int = 0) -> tuple[Predictions, np.ndarray, np.ndarray]:
    """MiniLM-like predictions that know each prompt's outcome, and the outcomes."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 2, size=(n, 2)).astype(float)
    scores[:, 1] = np.maximum(scores[:, 1], scores[:, 0])  # the big model is never worse
    costs = np.tile([1e-5, 1e-3], (n, 1))
    second = Predictions(0.1 + 0.8 * scores, costs.copy())
    return second, scores, costs


def test_a_first_stage_that_agrees_is_always_trusted() -> None:
    second, scores, costs = _held_out()
    gate = fit_gate(second, second, scores, costs, [0.0, 0.1, 1.0, math.inf], tolerance=0.0)
    assert gate.threshold == 0.0 and gate.fitted["share_first_stage"] == 1.0


def test_a_noisy_first_stage_is_trusted_only_where_its_margin_is_large() -> None:
    second, scores, costs = _held_out()
    rng = np.random.default_rng(1)
    noise = rng.normal(scale=0.3, size=second.quality.shape)
    first = Predictions(np.clip(second.quality + noise, 0, 1), second.cost)
    knobs = [0.0, 0.05, 0.1, 0.3, 1.0, math.inf]
    gate = fit_gate(first, second, scores, costs, knobs, tolerance=0.002)
    fitted = gate.fitted
    assert fitted["aiq_first_stage"] < fitted["aiq_second_stage"] - 0.002
    assert fitted["aiq_two_stage"] >= fitted["aiq_second_stage"] - 0.002
    assert 0.0 < gate.threshold and 0.0 < fitted["share_first_stage"] < 1.0
    assert Gate.from_json(gate.to_json()).threshold == pytest.approx(gate.threshold, abs=1e-6)


def test_each_objective_gets_its_own_threshold_and_old_gates_serve_every_objective() -> None:
    second, scores, costs = _held_out()
    rng = np.random.default_rng(2)
    first = Predictions(np.clip(second.quality + rng.normal(scale=0.3, size=second.quality.shape),
                                0, 1), second.cost)
    targets = objective_knobs("quality_target", costs, second.quality)
    assert targets and all(0.0 <= t <= 1.0 for t in targets)
    gate = fit_gate(first, second, scores, costs, targets, tolerance=0.002,
                    objective="quality_target")
    assert gate.fitted["objective"] == "quality_target"
    assert gate.fitted["agreement"] >= 0.95
    # The fitted threshold keeps MiniLM's decisions on that share of the quality targets.
    agreed = [(two_stage_choices(first, second, t, gate.threshold, objective="quality_target")[0]
               == choose(second.quality, second.cost, "quality_target", t)).mean()
              for t in targets]
    assert np.mean(agreed) == pytest.approx(gate.fitted["agreement"], abs=1e-4)
    both = Gate(0.1, {}, {"quality_target": gate.threshold})
    assert both.threshold_for("quality_target") == gate.threshold
    assert both.threshold_for("cheapest_within_eps") == both.threshold_for("max_utility") == 0.1
    loaded = Gate.from_json(both.to_json())
    assert loaded.by_objective == pytest.approx(both.by_objective, abs=1e-6)
    old = Gate.from_json({"threshold": 0.2, "fitted": {}})  # written before per-objective gates
    assert old.threshold_for("quality_target") == old.threshold_for("cheapest_within_eps") == 0.2
    assert Gate.from_json({"threshold": None, "by_objective": {"quality_target": None}}
                          ).threshold_for("quality_target") == math.inf
