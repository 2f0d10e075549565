"""Budget windows roll over exactly at the period boundary in the tenant's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.tenants.config import BudgetConfig
from gateway.tenants.periods import budget_window, period_span

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
TICK = timedelta(microseconds=1)


def month(limit: float = 100.0) -> BudgetConfig:
    return BudgetConfig(period="month", limit_usd=limit)


def day(limit: float = 5.0) -> BudgetConfig:
    return BudgetConfig(period="day", limit_usd=limit)


def test_a_month_rolls_at_local_midnight_not_utc() -> None:
    # Midnight of Dec 1 in New York (EST) is 05:00 UTC.
    boundary = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    before = budget_window(month(), NEW_YORK, boundary - TICK)
    after = budget_window(month(), NEW_YORK, boundary)
    assert before.key == "month:2026-11"
    assert before.resets_at == "2026-12-01T00:00:00-05:00"
    assert after.key == "month:2026-12"
    assert after.resets_at == "2027-01-01T00:00:00-05:00"
    assert (before.name, before.limit_usd) == ("month", 100.0)


def test_utc_midnight_is_not_a_boundary_elsewhere() -> None:
    utc_midnight = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert budget_window(month(), NEW_YORK, utc_midnight).key == "month:2026-11"
    assert budget_window(month(), KOLKATA, utc_midnight).key == "month:2026-12"


def test_a_day_rolls_at_local_midnight_in_a_half_hour_zone() -> None:
    # Midnight in Kolkata (UTC+05:30) is 18:30 UTC the day before.
    boundary = datetime(2026, 3, 14, 18, 30, tzinfo=UTC)
    assert budget_window(day(), KOLKATA, boundary - TICK).key == "day:2026-03-14"
    assert budget_window(day(), KOLKATA, boundary).key == "day:2026-03-15"
    assert budget_window(day(), KOLKATA, boundary).resets_at == "2026-03-16T00:00:00+05:30"


def test_the_short_day_of_a_dst_change_still_ends_at_local_midnight() -> None:
    # New York springs forward on 2026-03-08: that day lasts 23 hours.
    span = period_span("day", NEW_YORK, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    assert span.key == "day:2026-03-08"
    assert span.end is not None and span.start is not None
    assert span.end.isoformat() == "2026-03-09T00:00:00-04:00"
    assert span.end.timestamp() - span.start.timestamp() == 23 * 3600


def test_a_skipped_midnight_starts_the_day_when_the_clock_jumps() -> None:
    # Santiago jumps from 00:00 (-04) to 01:00 (-03) on 2026-09-06, at 04:00 UTC.
    zone = ZoneInfo("America/Santiago")
    jump = datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert budget_window(day(), zone, jump - TICK).resets_at == "2026-09-06T01:00:00-03:00"
    assert budget_window(day(), zone, jump).key == "day:2026-09-06"


def test_december_rolls_into_the_next_year() -> None:
    window = budget_window(month(), ZoneInfo("UTC"), datetime(2026, 12, 31, 23, tzinfo=UTC))
    assert window.resets_at == "2027-01-01T00:00:00+00:00"


def test_a_total_never_resets() -> None:
    total = BudgetConfig(period="total", limit_usd=1000)
    for when in (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 6, 1, tzinfo=UTC)):
        window = budget_window(total, NEW_YORK, when)
        assert (window.key, window.resets_at) == ("total", "never")
    assert period_span("total", NEW_YORK, datetime(2030, 6, 1, tzinfo=UTC)).elapsed_fraction(
        datetime(2030, 6, 1, tzinfo=UTC)) is None


def test_elapsed_fraction_counts_real_hours_across_a_dst_change() -> None:
    # November 2026 in New York has 721 hours (DST ends on the 1st).
    now = datetime(2026, 11, 16, 4, 0, tzinfo=UTC)  # 15 days after Nov 1 04:00 UTC
    span = period_span("month", NEW_YORK, now)
    assert span.elapsed_fraction(now) == pytest.approx(360 / 721)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        budget_window(month(), NEW_YORK, datetime(2026, 11, 1))
