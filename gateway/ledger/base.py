"""The spend ledger interface: atomic reserve-then-settle against a tenant's budgets.

Amounts are integer micro-dollars (1e-6 USD) inside stores, so sums are exact in Lua and in
Python alike; the public methods take and return USD floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

MICROS_PER_USD = 1_000_000


def to_micros(usd: float) -> int:
    # Round up: a reservation must never be smaller than the cost it covers.
    micros = usd * MICROS_PER_USD
    whole = int(micros)
    return whole + (1 if micros > whole else 0)


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """One budget of a tenant for the current period: `key` changes when the period rolls."""

    name: str  # e.g. "monthly"
    key: str  # e.g. "monthly:2026-11" in the tenant's time zone
    limit_usd: float
    resets_at: str  # ISO-8601 instant of the next roll-over ("never" for a fixed total)


@dataclass(frozen=True, slots=True)
class SpendRecord:
    """What one settled request cost, and on what, for reports and the durable log."""

    tenant: str
    request_id: str
    model: str
    route: str
    cost_usd: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    language: str | None = None
    cache_hit: bool = False
    tier: str = "remote"
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hold:
    """A granted reservation; settle or release it exactly once (repeats are no-ops)."""

    tenant: str
    request_id: str
    amount_usd: float
    windows: Sequence[BudgetWindow]


@dataclass(frozen=True, slots=True)
class WindowState:
    window: BudgetWindow
    spent_usd: float
    reserved_usd: float

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.window.limit_usd - self.spent_usd - self.reserved_usd)


class InsufficientBudget(Exception):
    """A reservation did not fit in one of the tenant's windows."""

    def __init__(self, window: BudgetWindow, remaining_usd: float):
        super().__init__(window.name)
        self.window = window
        self.remaining_usd = remaining_usd


class StoreUnavailable(Exception):
    """The backing store cannot be reached (e.g. Redis is down)."""


@runtime_checkable
class SpendStore(Protocol):
    """Budget ledger shared by every replica that uses the same backing store."""

    async def reserve(
        self,
        tenant: str,
        request_id: str,
        amount_usd: float,
        windows: Sequence[BudgetWindow],
        ttl_s: float,
    ) -> Hold:
        """Atomically hold `amount_usd` in every window, or raise InsufficientBudget."""
        ...

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        """Replace the hold by the actual cost and append `record` durably. Idempotent."""
        ...

    async def release(self, hold: Hold) -> None:
        """Drop the hold without spending (the call never happened). Idempotent."""
        ...

    async def state(self, tenant: str, windows: Sequence[BudgetWindow]) -> list[WindowState]:
        ...

    async def records(self, tenant: str | None = None) -> list[SpendRecord]:
        ...

    async def close(self) -> None: ...
