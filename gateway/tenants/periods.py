"""Which budget window an instant falls in, in the tenant's own time zone.

A `day` runs from local midnight to the next local midnight, a `month` from local midnight
on the 1st to local midnight on the next 1st; a `total` never rolls over. Boundaries are
computed as local wall times and converted with zoneinfo, so a 23- or 25-hour day around a
daylight-saving change still rolls exactly at local midnight. Where local midnight does not
exist (a zone that springs forward at 00:00), the period starts when the clock jumps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.ledger.base import BudgetWindow
from gateway.tenants.config import BudgetConfig

NEVER = "never"


@dataclass(frozen=True, slots=True)
class PeriodSpan:
    """The period containing an instant: its key, and its bounds (None for a fixed total)."""

    key: str
    start: datetime | None
    end: datetime | None

    def elapsed_fraction(self, now: datetime) -> float | None:
        """How much of the period has passed at `now`, in [0, 1]; None for a fixed total."""
        if self.start is None or self.end is None:
            return None
        # Timestamps, not datetime subtraction: two datetimes sharing one zone subtract as
        # wall clocks, which makes a month with a DST change an hour too short or long.
        start = self.start.timestamp()
        length = self.end.timestamp() - start
        return min(1.0, max(0.0, (now.timestamp() - start) / length))


def period_span(period: str, zone: ZoneInfo, now: datetime) -> PeriodSpan:
    """The `period` ("day", "month" or "total") that contains the aware instant `now`."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    if period == "total":
        return PeriodSpan("total", None, None)
    local = now.astimezone(zone)
    if period == "day":
        start_day = local.date()
        next_day = start_day + timedelta(days=1)
        key = f"day:{start_day.isoformat()}"
    elif period == "month":
        start_day = local.date().replace(day=1)
        next_day = _first_of_next_month(start_day)
        key = f"month:{start_day:%Y-%m}"
    else:
        raise ValueError(f"unknown budget period {period!r}")
    return PeriodSpan(key, _local_midnight(start_day, zone), _local_midnight(next_day, zone))


def budget_window(budget: BudgetConfig, zone: ZoneInfo, now: datetime) -> BudgetWindow:
    """The window of `budget` at `now`: key like `month:2026-11`, reset instant in the zone."""
    span = period_span(budget.period, zone, now)
    resets_at = NEVER if span.end is None else span.end.isoformat()
    return BudgetWindow(
        name=budget.period, key=span.key, limit_usd=budget.limit_usd, resets_at=resets_at
    )


def _first_of_next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone`, as an aware datetime in that zone."""
    naive = datetime(day.year, day.month, day.day)
    # Round-trip through UTC: a midnight skipped by a DST jump maps to the jump itself
    # (fold=0 takes the offset in force before it), and the result shows the offset after.
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)
