"""Calibration maps a traffic share or a budget to λ / ε on reference predictions."""

from __future__ import annotations

import numpy as np
import pytest

from routers.knn.calibrate import CalibrationError, calibrate
from routers.knn.gate import Predictions, two_stage_choices
from routers.knn.predict import choose

MODELS = ["small", "large"]


def _predictions(n: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    small_q = rng.uniform(0.2, 0.9, n)
    quality = np.column_stack([small_q, np.full(n, 0.9)])
    cost = np.tile([1e-5, 1e-3], (n, 1))
    return quality, cost


@pytest.mark.parametrize("share", [0.1, 0.3, 0.7])
def test_target_share_is_met(share: float) -> None:
    quality, cost = _predictions()
    result = calibrate(MODELS, quality, cost, target_share=share)
    assert result.tier_models == ["large"]
    assert result.share_to_tier == pytest.approx(share, abs=0.01)
    # The knob reproduces the share when routed again.
    picked = choose(quality, cost, "max_utility", result.knob)
    assert (picked == 1).mean() == pytest.approx(result.share_to_tier)


def test_epsilon_for_a_share() -> None:
    quality, cost = _predictions()
    result = calibrate(MODELS, quality, cost, "cheapest_within_eps", target_share=0.3)
    assert 0.0 <= result.knob <= 1.0
    assert result.share_to_tier == pytest.approx(0.3, abs=0.01)


def test_budget_gives_best_quality_within_it() -> None:
    quality, cost = _predictions()
    budget = 0.5  # USD per 1k requests: about half the prompts can go large
    result = calibrate(MODELS, quality, cost, usd_per_1k=budget)
    assert result.usd_per_1k <= budget
    richer = calibrate(MODELS, quality, cost, usd_per_1k=0.8)
    assert richer.quality >= result.quality and richer.share_to_tier > result.share_to_tier


@pytest.mark.parametrize("objective", ["max_utility", "cheapest_within_eps"])
def test_a_two_stage_router_is_calibrated_on_its_own_decisions(objective: str) -> None:
    """The knob found for a two-stage router gives its share when the two stages route
    together; MiniLM's predictions alone would find another knob."""
    quality, cost = _predictions()
    rng = np.random.default_rng(5)
    # A static stage that rates the small model lower than MiniLM does.
    first = Predictions(np.clip(quality - [0.15, 0.0] + rng.normal(scale=0.05, size=quality.shape),
                                0, 1), cost)
    threshold = 0.05
    result = calibrate(MODELS, quality, cost, objective, target_share=0.3,  # type: ignore[arg-type]
                       first_stage=(first, threshold))
    # Coarser steps than one stage's: a knob moves rows between the stages too.
    assert result.share_to_tier == pytest.approx(0.3, abs=0.03)
    picked, sure = two_stage_choices(first, Predictions(quality, cost), result.knob, threshold,
                                     objective=objective)  # type: ignore[arg-type]
    assert (picked == 1).mean() == pytest.approx(result.share_to_tier)
    assert result.first_stage_share == pytest.approx(sure.mean()) and 0 < sure.mean() < 1
    # MiniLM's knob, served by the two stages, misses the share it was calibrated for.
    minilm_alone = calibrate(MODELS, quality, cost, objective, target_share=0.3)  # type: ignore[arg-type]
    assert minilm_alone.first_stage_share is None
    served, _ = two_stage_choices(first, Predictions(quality, cost), minilm_alone.knob, threshold,
                                  objective=objective)  # type: ignore[arg-type]
    assert abs((served == 1).mean() - 0.3) > 0.05
    # A gate that never trusts the static stage is MiniLM alone.
    never = calibrate(MODELS, quality, cost, objective, target_share=0.3,  # type: ignore[arg-type]
                      first_stage=(first, np.inf))
    assert never.knob == minilm_alone.knob and never.first_stage_share == 0.0


def test_recorded_costs_are_used_where_known() -> None:
    quality, cost = _predictions(10)
    recorded = np.full_like(cost, 1.0)  # recorded $1 per call on both
    result = calibrate(MODELS, quality, cost, target_share=0.0, recorded_costs=recorded)
    assert result.usd_per_1k == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"target_share": 0.3, "usd_per_1k": 1.0}, "exactly one"),
        ({"target_share": 1.5}, r"in \[0, 1\]"),
        ({"target_share": 0.3, "tier_models": ["nope"]}, "not in the router"),
        ({"usd_per_1k": 1e-9}, "below the cheapest"),
    ],
)
def test_bad_requests_are_explained(kwargs: dict[str, object], message: str) -> None:
    quality, cost = _predictions(50)
    with pytest.raises(CalibrationError, match=message):
        calibrate(MODELS, quality, cost, **kwargs)  # type: ignore[arg-type]
