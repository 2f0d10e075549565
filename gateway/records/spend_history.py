"""Spend history in the records database: one row per settled request (issue 17).

The spend ledger (Redis or the in-process store) keeps only what must be atomic: window
counters, holds, and each settled entry until it is drained. `SpendDrainer`
(gateway/records/spend_drainer.py) copies settled entries here by request id, idempotently;
`GET /v1/costroute/spend` then reads indexed aggregates from here instead of re-reading the
ledger's whole log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson

from gateway.ledger.base import SettledEntry
from gateway.ledger.entries import unix_seconds
from gateway.records.base import RecordStoreUnavailable

# Group-by dimensions of the database report; `period` is a budget window key.
DIMENSIONS = ("tenant", "period", "model", "route", "language", "tier", "purpose")
FILTERS = ("model", "route", "language", "tier", "purpose")
PURPOSES = ("traffic", "learning")
NO_VALUE = "-"


class SpendHistoryUnavailable(RecordStoreUnavailable):
    """The spend report cannot be read from the database; the message says what waits."""


@dataclass(frozen=True, slots=True)
class SpendHorizons:
    """From when each level of spend history is whole; None: nothing of it was purged."""

    raw: float | None = None  # per-request rows (spend, spend_windows)
    hourly: float | None = None  # spend_hourly's totals


@dataclass(frozen=True, slots=True)
class SpendQuery:
    """Which settled requests to sum: one tenant's (None: all), in [since, until)."""

    tenant: str | None
    by: tuple[str, ...] = ()
    since: float | None = None  # unix seconds, inclusive
    until: float | None = None  # unix seconds, exclusive
    filters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpendGroup:
    group: tuple[str, ...]
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One settled request as the database holds it (the by-request listing)."""

    tenant: str
    request_id: str
    settled_at: float
    model: str
    route: str
    tier: str
    language: str
    purpose: str
    cost_nanos: int
    prompt_tokens: int
    completion_tokens: int
    cache_hit: bool
    estimated: bool
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class SpendHistory(Protocol):
    """Spend rows in a records database: written idempotently, read as aggregates."""

    async def write_spend(self, entries: Sequence[SettledEntry]) -> None:
        """Stores each entry once per (tenant, request id); repeats are no-ops."""

    async def spend_groups(self, query: SpendQuery) -> list[SpendGroup]:
        """Totals per distinct value of `query.by`, sorted by group."""

    async def spend_cache_hits(self, query: SpendQuery) -> int:
        """How many of the matching requests were answered from the cache."""

    async def spend_requests(self, query: SpendQuery, limit: int,
                             after: tuple[float, str] | None) -> list[SpendRow]:
        """Matching requests ordered by (settled_at, request_id), after a keyset cursor."""

    async def spend_horizons(self, tenant: str | None) -> SpendHorizons:
        """From when each level of `tenant`'s (None: everyone's) history is whole: the
        retention's horizons, or further where a recorded purge went further."""

    def raw_spend_since(self) -> float | None:
        """From when per-request rows are kept (the retention horizon); None: all of them."""

    def hourly_spend_since(self) -> float | None:
        """From when hourly totals are kept (their retention's horizon); None: all of them."""

    async def purge_spend(self, before: float, tenant: str | None = None, *,
                          dry_run: bool = False) -> int:
        """Deletes per-request rows settled before `before` (totals stay); how many."""

    async def purge_spend_hourly(self, before: float, tenant: str | None = None, *,
                                 dry_run: bool = False) -> int:
        """Deletes the hourly totals of the days before `before`'s (daily totals stay)."""


def check_query(query: SpendQuery) -> None:
    """ValueError naming a dimension, filter or purpose that does not exist."""
    unknown = [d for d in query.by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; choose from {', '.join(DIMENSIONS)}")
    bad = [f for f in query.filters if f not in FILTERS]
    if bad:
        raise ValueError(f"unknown filter(s) {bad}; choose from {', '.join(FILTERS)}")
    purpose = query.filters.get("purpose")
    if purpose is not None and purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")


def purpose_of(entry: SettledEntry) -> str:
    purpose = entry.record.extra.get("purpose")
    return purpose if purpose in PURPOSES else "traffic"


def spend_row(entry: SettledEntry) -> tuple[Any, ...]:
    """The `spend` table's columns for one entry, in SPEND_COLUMNS order."""
    record = entry.record
    return (record.tenant, record.request_id, unix_seconds(entry.settled_at), record.model,
            record.route, record.tier, record.language or NO_VALUE, purpose_of(entry),
            entry.actual_nanos, record.prompt_tokens, record.completion_tokens,
            bool(record.cache_hit), bool(record.extra.get("estimated", False)),
            # `default=str` as the journal does: a stray object must not lose the row.
            orjson.dumps(dict(record.extra), default=str).decode())


SPEND_COLUMNS = ("tenant", "request_id", "settled_at", "model", "route", "tier", "language",
                 "purpose", "cost_nanos", "prompt_tokens", "completion_tokens", "cache_hit",
                 "estimated", "extra")
