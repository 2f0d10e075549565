"""Where the console reads spend history from: the one function to change when it moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from gateway.ledger.base import SettledEntry, SpendRecord, from_nanos
from gateway.ledger.report import DayRange
from gateway.records.spend_history import NO_VALUE, SpendQuery, SpendRow

if TYPE_CHECKING:
    from gateway.assembly import Gateway
    from gateway.records.spend_drainer import SpendDrainer

DEFAULT_DAYS = 30
PAGE_ROWS = 5_000  # rows per keyset page read from the records database


async def settled_history(gateway: Gateway, tenant: str | None,
                          days: DayRange | None = None) -> list[SettledEntry]:
    """Every settled entry of `tenant` (all tenants for None), oldest first; [] without a ledger.

    With a spend drainer the records database holds the history (the ledger's outbox is
    trimmed once drained), so it is read from there, as the spend API does; otherwise from
    the ledger (`SpendStore.entries`). `days` narrows the database query; callers still
    select their range, since the ledger path returns everything.
    """
    if gateway.store is None:
        return []
    if gateway.spend_drainer is not None:
        return await _from_records(gateway.spend_drainer, tenant, days)
    return await gateway.store.entries(tenant)


async def _from_records(drainer: SpendDrainer, tenant: str | None,
                        days: DayRange | None) -> list[SettledEntry]:
    await drainer.catch_up()  # what this replica settled a moment ago shows, as in the API
    since = until = None
    if days is not None:
        since = datetime.combine(days.first, time(), UTC).timestamp()
        until = datetime.combine(days.last + timedelta(days=1), time(), UTC).timestamp()
    query = SpendQuery(tenant, (), since, until)
    entries: list[SettledEntry] = []
    after: tuple[float, str] | None = None
    while True:
        page = await drainer.history.spend_requests(query, PAGE_ROWS, after)
        entries += [_entry(row) for row in page]
        if len(page) < PAGE_ROWS:
            return entries
        after = (page[-1].settled_at, page[-1].request_id)


def _entry(row: SpendRow) -> SettledEntry:
    """A database row as the ledger's entry; budget window keys are not needed here."""
    extra = {**row.extra, "purpose": row.purpose}
    record = SpendRecord(tenant=row.tenant, request_id=row.request_id, model=row.model,
                         route=row.route, cost_usd=from_nanos(row.cost_nanos),
                         prompt_tokens=row.prompt_tokens,
                         completion_tokens=row.completion_tokens,
                         language=None if row.language == NO_VALUE else row.language,
                         cache_hit=row.cache_hit, tier=row.tier, extra=extra)
    settled_at = datetime.fromtimestamp(row.settled_at, UTC).isoformat()
    return SettledEntry(record, settled_at, (), row.cost_nanos)


def default_range(today: date | None = None) -> DayRange:
    """The last DEFAULT_DAYS UTC days, today included."""
    last = today or datetime.now(UTC).date()
    return DayRange(last - timedelta(days=DEFAULT_DAYS - 1), last)


def base_request_id(entry: SettledEntry) -> str:
    """The client's request id: a multi-stage route settles `<id>:<stage>` per stage."""
    stage = entry.record.extra.get("stage")
    if stage is None:
        return entry.record.request_id
    return entry.record.request_id.rsplit(":", 1)[0]


def purpose(entry: SettledEntry) -> str:
    """`traffic` (a client's request) or `learning` (a shadow call the gateway made itself)."""
    return str(entry.record.extra.get("purpose", "traffic"))
