"""The spend ledger interface: atomic reserve-then-settle against a tenant's budgets.

Amounts are integer nano-dollars (1e-6 USD) inside stores, so sums are exact in Lua and in
Python alike; the public methods take and return USD floats.

Exceptions a store raises:

    InsufficientBudget      a hold does not fit in one window (the guard turns it into
                            gateway.ledger.guard.BudgetExhausted, with the reset time)
    StoreUnavailable        the backing store cannot be reached (Redis down, log unwritable)
    RequestAlreadySettled   (ValueError) a reserve reuses the id of a settled request
    LedgerCorrupt           the durable log has a damaged line before its last one
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

NANOS_PER_USD = 1_000_000_000


def to_nanos(usd: float) -> int:
    """`usd` in whole nano-dollars, rounded up (a hold never undercovers its cost)."""
    # Nano-dollars, not micro-dollars: a short request to a cheap model costs a few micro-
    # dollars, so rounding each up to a whole micro-dollar overcharged it by up to 30%.
    # Round away binary noise first (0.07 * 1e9 is not exactly 70000000); three decimals keep
    # every genuine fraction. Redis's Lua numbers are doubles: exact up to 2**53 n$ ($9M).
    return math.ceil(round(usd * NANOS_PER_USD, 3))


def limit_to_nanos(usd: float) -> int:
    """A budget limit in whole nano-dollars, rounded down (a budget never grows by rounding)."""
    return math.floor(round(usd * NANOS_PER_USD, 3))


def from_nanos(nanos: int) -> float:
    """Nano-dollars as USD."""
    return nanos / NANOS_PER_USD


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
    """Spend and live holds in one window; stores fill the exact nano-dollar fields too."""

    window: BudgetWindow
    spent_usd: float
    reserved_usd: float
    spent_nanos: int = 0
    reserved_nanos: int = 0

    @classmethod
    def of_nanos(cls, window: BudgetWindow, spent: int, reserved: int) -> WindowState:
        return cls(window, from_nanos(spent), from_nanos(reserved), spent, reserved)

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.window.limit_usd - self.spent_usd - self.reserved_usd)

    @property
    def remaining_nanos(self) -> int:
        return max(0, limit_to_nanos(self.window.limit_usd) - self.spent_nanos
                   - self.reserved_nanos)


class InsufficientBudget(Exception):
    """A reservation did not fit in one of the tenant's windows."""

    def __init__(self, window: BudgetWindow, remaining_usd: float):
        super().__init__(window.name)
        self.window = window
        self.remaining_usd = remaining_usd


class StoreUnavailable(Exception):
    """The backing store cannot be reached (e.g. Redis is down)."""


class RequestAlreadySettled(ValueError):
    """A reservation reused the id of a request that was already settled."""


class LedgerCorrupt(Exception):
    """The durable spend log is damaged somewhere other than a torn last line."""


@dataclass(frozen=True, slots=True)
class SettledEntry:
    """One line of the durable log: a settled record, when, and the windows it counted in."""

    record: SpendRecord
    settled_at: str  # ISO-8601 UTC instant
    window_keys: tuple[str, ...]
    actual_nanos: int


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

    async def top_up(self, hold: Hold, amount_usd: float, ttl_s: float) -> Hold:
        """Atomically raise a live hold to `amount_usd` in its windows (only the increase must
        fit), or raise InsufficientBudget; a hold already at least that large is unchanged.
        A hold that expired meanwhile is taken anew for the whole amount."""
        ...

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        """Replace the hold by the actual cost and append `record` durably. Idempotent."""
        ...

    async def release(self, hold: Hold) -> None:
        """Drop the hold without spending (the call never happened). Idempotent."""
        ...

    async def state(self, tenant: str, windows: Sequence[BudgetWindow]) -> list[WindowState]:
        """Spent and live-held amounts of each window, in the order given."""
        ...

    async def records(self, tenant: str | None = None) -> list[SpendRecord]:
        """Every settled record, oldest first; one tenant's, or everyone's for None."""
        ...

    async def entries(self, tenant: str | None = None) -> list[SettledEntry]:
        """Like `records`, with the settle time and the window keys each one counted in."""
        ...

    async def ping(self) -> None:
        """Raises StoreUnavailable when the store cannot be reached (readiness, start-up)."""
        ...

    async def close(self) -> None: ...
