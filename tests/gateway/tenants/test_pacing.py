"""The pacing formula: knob tightens as the budget lags the clock (docstring of pacing.py)."""

from __future__ import annotations

import pytest

from gateway.tenants.config import PacingConfig
from gateway.tenants.pacing import paced_policy, tightest, tightness
from routers.base import Policy


@pytest.mark.parametrize(("remaining", "elapsed", "expected"), [
    (0.5, 0.5, 0.0),    # exactly on pace
    (0.9, 0.5, 0.0),    # under pace never tightens
    (0.25, 0.5, 0.5),   # half the budget of the time left
    (0.0, 0.1, 1.0),    # nothing left
    (0.1, 1.0, 0.0),    # period over with money left: the roll-over is due
    (0.9, None, 0.1),   # a fixed total tightens as it is used
    (1.5, -1.0, 0.0),   # out-of-range inputs are clamped
])
def test_tightness(remaining: float, elapsed: float | None, expected: float) -> None:
    assert tightness(remaining, elapsed) == pytest.approx(expected)


def test_the_tightest_budget_wins() -> None:
    assert tightest([(0.5, 0.5), (0.25, 0.5)]) == pytest.approx(0.5)
    assert tightest([]) == 0.0


def test_linear_pacing_moves_the_knob_towards_its_tight_end() -> None:
    policy = Policy(objective="quality_target", knob=0.9)
    paced = paced_policy(policy, PacingConfig(kind="linear", tight_knob=0.5), 0.25)
    assert paced.knob == pytest.approx(0.8)
    assert paced.objective == "quality_target"
    assert paced.params["pacing_tightness"] == pytest.approx(0.25)


def test_no_pacing_leaves_the_policy_alone() -> None:
    policy = Policy(knob=3.0)
    assert paced_policy(policy, PacingConfig(), 1.0) is policy


def test_linear_pacing_needs_its_tight_knob() -> None:
    with pytest.raises(ValueError, match="tight_knob"):
        PacingConfig(kind="linear")
