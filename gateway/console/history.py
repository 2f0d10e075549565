"""Where the console reads spend history from: the one function to change when it moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from gateway.ledger.base import SettledEntry
from gateway.ledger.report import DayRange

if TYPE_CHECKING:
    from gateway.assembly import Gateway

DEFAULT_DAYS = 30


async def settled_history(gateway: Gateway, tenant: str | None) -> list[SettledEntry]:
    """Every settled entry of `tenant` (all tenants for None), oldest first; [] without a ledger.

    Today the spend ledger keeps them (`SpendStore.entries`); if spend history moves into the
    records database, only this function changes.
    """
    if gateway.store is None:
        return []
    return await gateway.store.entries(tenant)


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
