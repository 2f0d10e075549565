"""Cutting a strategy to the allowed models and to a router's start model."""

from __future__ import annotations

import numpy as np
import pytest

from routers.cascade.combine import replay_started
from routers.cascade.plan import allowed_stages, start_from
from routers.cascade.strategy import Stage, Strategy, replay

STAGES = (Stage("small", 0.6), Stage("medium", 0.5), Stage("large"))
COST = {"small": 1.0, "medium": 5.0, "large": 20.0, "other-mid": 3.0, "huge": 50.0}


def models(stages: list[Stage]) -> list[str]:
    return [s.model for s in stages]


def test_allowed_stages_keep_order_and_end_with_a_final_stage() -> None:
    kept = allowed_stages(Strategy(STAGES), ["medium", "small"])
    assert kept == [Stage("small", 0.6), Stage("medium")]
    assert allowed_stages(Strategy(STAGES), ["nothing"]) == []


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("small", ["small", "medium", "large"]),
        ("medium", ["medium", "large"]),
        ("large", ["large"]),
        ("other-mid", ["medium", "large"]),  # not a stage: first stage costing at least as much
        ("huge", ["large"]),  # dearer than every stage: the final stage answers
        ("unknown", ["small", "medium", "large"]),  # no cost known: the whole cascade
    ],
)
def test_start_from(start: str, expected: list[str]) -> None:
    assert models(start_from(STAGES, start, COST)) == expected


def test_replay_started_at_the_first_stage_is_the_plain_replay() -> None:
    rng = np.random.default_rng(0)
    names = ["small", "medium", "large"]
    scores, outcomes = rng.random((50, 3)), (rng.random((50, 3)) < 0.7).astype(float)
    costs = np.tile([1.0, 5.0, 20.0], (50, 1))
    strategy = Strategy(STAGES)
    plain = replay(strategy, names, scores, outcomes, costs)
    started = replay_started(
        strategy, names, np.zeros(50, dtype=np.int64), scores, outcomes, costs, COST
    )
    assert started == pytest.approx((plain.accuracy, plain.cost_usd))
    # Starting everyone at `large` is the single model `large`.
    at_large = replay_started(
        strategy, names, np.full(50, 2, dtype=np.int64), scores, outcomes, costs, COST
    )
    assert at_large == pytest.approx((outcomes[:, 2].mean(), 20.0))
