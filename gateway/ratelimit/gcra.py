"""The generic cell rate algorithm, in integer microseconds.

Each (tenant, dimension) keeps one number, its theoretical arrival time (TAT). A limit of L
per minute spends `interval = 60 s / L` of TAT per unit; a request is admitted while its new
TAT stays within one minute of now, so an idle tenant may burst a full minute's allowance and
then runs at the steady rate. A single request larger than the whole allowance is clamped to
it: it waits for an idle minute instead of being refused forever.
"""

from __future__ import annotations

from dataclasses import dataclass

PERIOD_US = 60_000_000


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one GCRA check: the TAT to store if admitted, and the wait if not."""

    new_tat: int
    wait_us: int
    remaining: int


def interval_us(limit_per_minute: int) -> int:
    """Microseconds of TAT one unit costs (at least 1, so huge limits stay finite)."""
    return max(1, PERIOD_US // limit_per_minute)


def check(tat: int, now: int, limit_per_minute: int, units: int) -> Step:
    """Where `units` would put the TAT, and how long to wait first (0 means admit now)."""
    interval = interval_us(limit_per_minute)
    new_tat = max(tat, now) + min(units, limit_per_minute) * interval
    wait = max(0, new_tat - now - PERIOD_US)
    remaining = max(0, (PERIOD_US - (new_tat - now)) // interval)
    return Step(new_tat, wait, remaining)
