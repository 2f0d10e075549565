"""Argument checks every SpendStore applies the same way, before touching its state."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ledger.base import BudgetWindow, Hold, SpendRecord


def check_reservation(amount_nanos: int, windows: Sequence[BudgetWindow], ttl_s: float) -> None:
    """Raises ValueError for a negative amount, a non-positive TTL or a repeated window key."""
    if amount_nanos < 0:
        raise ValueError("a reservation cannot be negative")
    if not ttl_s > 0:
        raise ValueError("a reservation needs a positive TTL")
    keys = [w.key for w in windows]
    if len(set(keys)) != len(keys):
        raise ValueError(f"window keys must be unique, got {keys}")
    for key in keys:
        # Keys travel space-separated inside Redis; a space would split one into two.
        if not key or any(ch.isspace() for ch in key):
            raise ValueError(f"window key {key!r} must be non-empty without spaces")


def check_settlement(hold: Hold, actual_nanos: int, record: SpendRecord) -> None:
    """Raises ValueError when the record is not the hold's or the cost is negative."""
    if actual_nanos < 0:
        raise ValueError("a settled cost cannot be negative")
    if (record.tenant, record.request_id) != (hold.tenant, hold.request_id):
        raise ValueError(
            f"record {record.tenant}/{record.request_id} does not match hold "
            f"{hold.tenant}/{hold.request_id}"
        )
