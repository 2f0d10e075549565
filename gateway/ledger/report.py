"""Spend totals grouped by tenant, period, model, route, language, tier or purpose."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.ledger.base import SettledEntry, from_nanos

DIMENSIONS = ("tenant", "period", "model", "route", "language", "tier", "purpose")
NO_VALUE = "-"


@dataclass(frozen=True, slots=True)
class SpendRow:
    """Totals of one group; `group` follows the dimensions it was summarized by."""

    group: tuple[str, ...]
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int

    @property
    def cost_usd(self) -> float:
        return from_nanos(self.cost_nanos)

    def as_dict(self, by: Sequence[str]) -> dict[str, object]:
        return {
            **dict(zip(by, self.group)),
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
        }


@dataclass(frozen=True, slots=True)
class DayRange:
    """UTC calendar days `first`..`last`, both included, matched on each entry's settle time."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: str, last: str, max_days: int = 400) -> DayRange:
        """From `YYYY-MM-DD` strings; ValueError naming the problem."""
        try:
            span = cls(date.fromisoformat(first), date.fromisoformat(last))
        except ValueError:
            raise ValueError(f"dates must be YYYY-MM-DD, got {first!r} and {last!r}") from None
        if span.last < span.first:
            raise ValueError(f"`from` ({first}) is after `to` ({last})")
        if len(span) > max_days:
            raise ValueError(f"a range may cover at most {max_days} days, not {len(span)}")
        return span

    def __len__(self) -> int:
        return (self.last - self.first).days + 1

    def days(self) -> list[str]:
        return [(self.first + timedelta(days=i)).isoformat() for i in range(len(self))]

    def select(self, entries: Iterable[SettledEntry]) -> list[SettledEntry]:
        low, high = self.first.isoformat(), self.last.isoformat()
        # settled_at is ISO-8601 UTC, so its first ten characters are the UTC day.
        return [e for e in entries if low <= e.settled_at[:10] <= high]


def check_dimensions(by: Sequence[str]) -> None:
    """Raises ValueError naming any dimension that is not one of DIMENSIONS."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {', '.join(DIMENSIONS)}")


def summarize(entries: Iterable[SettledEntry], by: Sequence[str]) -> list[SpendRow]:
    """One row per distinct group, sorted; an entry counts once in every budget period it
    counted in (`period` is the window key, e.g. `month:2026-11`), so period rows overlap."""
    check_dimensions(by)
    sums: dict[tuple[str, ...], list[int]] = {}
    for entry in entries:
        for group in _groups(entry, by):
            row = sums.setdefault(group, [0, 0, 0, 0])
            row[0] += 1
            row[1] += entry.record.prompt_tokens
            row[2] += entry.record.completion_tokens
            row[3] += entry.actual_nanos
    return [SpendRow(group, *values) for group, values in sorted(sums.items())]


def total(entries: Iterable[SettledEntry]) -> SpendRow:
    """Every entry counted once."""
    rows = summarize(entries, ())
    return rows[0] if rows else SpendRow((), 0, 0, 0, 0)


def _groups(entry: SettledEntry, by: Sequence[str]) -> list[tuple[str, ...]]:
    record = entry.record
    fixed = {
        "tenant": record.tenant,
        "model": record.model,
        "route": record.route,
        "language": record.language or NO_VALUE,
        "tier": record.tier,
        # "learning" for shadow and judge calls (gateway/learning), else the client's traffic.
        "purpose": str(record.extra.get("purpose", "traffic")),
    }
    periods = list(entry.window_keys) or [NO_VALUE]
    if "period" not in by:
        periods = [NO_VALUE]
    return [
        tuple(period if d == "period" else fixed[d] for d in by) for period in periods
    ]
