"""Budget-aware routing: a tighter cost knob as a tenant's budget runs out faster than time.

With r the share of the period budget still free and e the share of the period elapsed,
spending evenly would leave r = 1 - e. The tightness

    t = clamp(1 - r / (1 - e), 0, 1)

is 0 while the tenant is on or under that pace, grows as the remaining budget falls behind
the remaining time, and is 1 when nothing is left. A fixed `total` budget has no clock, so
e = 0 there and t = 1 - r. Once the period is over (e = 1) the roll-over is due: t = 0 unless
the budget is already gone. With several budgets the tightest one wins.

`linear` pacing then moves the knob from the tenant's own value towards its `tight_knob`:

    knob = knob + t * (tight_knob - knob)

so a tenant halfway through the month with a quarter of its budget left (t = 0.5) routes
with the knob halfway to its frugal end: cheaper models near the end of the month, rather
than a hard wall on day 20.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from gateway.tenants.config import PacingConfig
from routers.base import Policy


def tightness(remaining_fraction: float, elapsed_fraction: float | None) -> float:
    """How far the budget lags the clock, in [0, 1] (formula in the module docstring)."""
    remaining = _clamp(remaining_fraction)
    if remaining <= 0.0:
        return 1.0
    time_left = 1.0 if elapsed_fraction is None else 1.0 - _clamp(elapsed_fraction)
    if time_left <= 0.0:
        return 0.0
    return _clamp(1.0 - remaining / time_left)


def tightest(pairs: Iterable[tuple[float, float | None]]) -> float:
    """The largest tightness over (remaining, elapsed) pairs; 0 when there are none."""
    return max((tightness(r, e) for r, e in pairs), default=0.0)


def paced_policy(policy: Policy, pacing: PacingConfig, tightness_value: float) -> Policy:
    """`policy` with its knob moved `tightness_value` of the way to `pacing.tight_knob`."""
    if pacing.kind == "none" or pacing.tight_knob is None:
        return policy
    t = _clamp(tightness_value)
    knob = policy.knob + t * (pacing.tight_knob - policy.knob)
    return replace(policy, knob=knob, params={**policy.params, "pacing_tightness": t})


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
