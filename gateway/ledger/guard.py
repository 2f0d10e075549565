"""The budget gate the request pipeline calls: tenant config in, store calls and errors out.

    reserve  -> Hold, or BudgetExhausted (429 insufficient_quota / budget_exceeded),
                or StoreUnavailable (503) unless the guard fails open
    settle   -> never raises for an outage: the settlement is queued and retried, because the
                upstream call already happened and its response must still reach the client
    release  -> never raises for an outage: the hold's TTL frees it anyway

Windows are computed from the tenant's current config on every call, so a reloaded budget
applies to the next request. A hold keeps the windows it was taken in: a request reserved
at 23:59 and settled at 00:01 counts in the day it started.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.ledger.base import (
    BudgetWindow,
    Hold,
    InsufficientBudget,
    SpendRecord,
    SpendStore,
    StoreUnavailable,
)
from gateway.ledger.status import BudgetExhausted, BudgetStatus
from gateway.tenants.config import TenantConfig
from gateway.tenants.pacing import paced_policy
from gateway.tenants.periods import budget_window, period_span
from routers.base import Policy

log = logging.getLogger(__name__)

MAX_CACHED_WINDOWS = 4096


def utc_now() -> datetime:
    return datetime.now(UTC)


class BudgetGuard:
    """Reserve-then-settle against a tenant's budgets, on any SpendStore."""

    def __init__(
        self,
        store: SpendStore,
        *,
        hold_ttl_s: float = 900.0,
        fail_open: bool = False,
        max_pending: int = 100_000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.hold_ttl_s = hold_ttl_s
        self.fail_open = fail_open
        self._clock = clock
        self._pending: deque[tuple[Hold, float, SpendRecord]] = deque(maxlen=max_pending)
        self._windows: dict[tuple[Any, ...], tuple[list[BudgetWindow], float, float]] = {}

    def windows_for(self, tenant: TenantConfig, now: datetime | None = None) -> list[BudgetWindow]:
        """The tenant's budget windows at `now` (default: the guard's clock).

        Kept per (time zone, budgets) while `now` stays inside all of their periods: the
        zone arithmetic is a few percent of a request's CPU, and it changes only at a roll.
        A reloaded budget has another key, so it applies to the next request."""
        at = now or self._clock()
        key = (tenant.timezone, tuple((b.period, b.limit_usd) for b in tenant.budgets))
        instant = at.timestamp()
        cached = self._windows.get(key)
        if cached is not None and cached[1] <= instant < cached[2]:
            return list(cached[0])
        zone = tenant.zone()
        windows = [budget_window(budget, zone, at) for budget in tenant.budgets]
        spans = [period_span(budget.period, zone, at) for budget in tenant.budgets]
        valid_from = max((s.start.timestamp() for s in spans if s.start), default=-math.inf)
        valid_until = min((s.end.timestamp() for s in spans if s.end), default=math.inf)
        if len(self._windows) >= MAX_CACHED_WINDOWS:
            self._windows.clear()
        self._windows[key] = (windows, valid_from, valid_until)
        return list(windows)

    async def reserve(self, tenant: TenantConfig, request_id: str, amount_usd: float) -> Hold:
        """Holds `amount_usd` in every budget of the tenant, or raises BudgetExhausted."""
        await self.flush_pending()
        windows = self.windows_for(tenant)
        try:
            return await self.store.reserve(
                tenant.name, request_id, amount_usd, windows, self.hold_ttl_s
            )
        except InsufficientBudget as exc:
            raise BudgetExhausted(tenant.name, exc.window, exc.remaining_usd, amount_usd) from None
        except StoreUnavailable:
            if not self.fail_open:
                raise
            log.warning("budget store down: admitting %s/%s unchecked (fail-open)",
                        tenant.name, request_id)
            return Hold(tenant.name, request_id, amount_usd, tuple(windows))

    async def top_up(self, tenant: TenantConfig, hold: Hold, amount_usd: float) -> Hold:
        """Raises the hold to `amount_usd` (a fallback to a dearer model), or BudgetExhausted."""
        if amount_usd <= hold.amount_usd:
            return hold
        try:
            return await self.store.top_up(hold, amount_usd, self.hold_ttl_s)
        except InsufficientBudget as exc:
            raise BudgetExhausted(tenant.name, exc.window, exc.remaining_usd,
                                  amount_usd - hold.amount_usd) from None
        except StoreUnavailable:
            if not self.fail_open:
                raise
            log.warning("budget store down: topping up %s/%s unchecked (fail-open)",
                        tenant.name, hold.request_id)
            return Hold(hold.tenant, hold.request_id, amount_usd, hold.windows)

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        """Counts the actual cost (idempotent); queues it for retry while the store is down."""
        await self.flush_pending()
        try:
            await self.store.settle(hold, actual_usd, record)
        except StoreUnavailable as exc:
            self._queue(hold, actual_usd, record, exc)

    async def release(self, hold: Hold) -> None:
        """Drops the hold (idempotent); if the store is down its TTL will drop it."""
        try:
            await self.store.release(hold)
        except StoreUnavailable as exc:
            log.warning("could not release hold %s/%s (%s); it expires with its TTL",
                        hold.tenant, hold.request_id, exc)

    async def status(self, tenant: TenantConfig) -> BudgetStatus:
        """The tenant's windows now; with the store down: raises, or `known=False` fail-open."""
        now = self._clock()
        windows = self.windows_for(tenant, now)
        try:
            states = await self.store.state(tenant.name, windows)
        except StoreUnavailable:
            if not self.fail_open:
                raise
            return BudgetStatus(tenant.name, known=False)
        zone = tenant.zone()
        elapsed = tuple(
            period_span(b.period, zone, now).elapsed_fraction(now) for b in tenant.budgets
        )
        alerts = tuple(b.alert_fraction for b in tenant.budgets)
        return BudgetStatus(tenant.name, tuple(states), elapsed, alerts)

    async def remaining_fraction(self, tenant: TenantConfig) -> float | None:
        """Share of the tightest budget still free (None when the tenant has no budget)."""
        return (await self.status(tenant)).remaining_fraction()

    def policy_for(self, tenant: TenantConfig, status: BudgetStatus) -> Policy:
        """The tenant's policy with its knob tightened by its pacing config."""
        return paced_policy(tenant.policy.to_policy(), tenant.pacing, status.tightness())

    async def flush_pending(self) -> int:
        """Retries queued settlements; returns how many are still waiting."""
        while self._pending:
            # Taken before the await: concurrent flushers must never settle or pop the same
            # item twice (found under load: a double pop raised IndexError mid-request).
            item = self._pending.popleft()
            hold, actual_usd, record = item
            try:
                await self.store.settle(hold, actual_usd, record)
            except StoreUnavailable:
                self._pending.appendleft(item)
                return len(self._pending)
            except BaseException:  # cancelled mid-settle: keep the item for the next flush
                self._pending.appendleft(item)
                raise
            log.info("queued settlement of %s/%s recorded", hold.tenant, hold.request_id)
        return 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def aclose(self) -> None:
        """Tries the queue one last time, then closes the store."""
        left = await self.flush_pending()
        if left:
            log.error("%d settlements could not be recorded before shutdown", left)
        await self.store.close()

    def _queue(self, hold: Hold, actual_usd: float, record: SpendRecord,
               exc: StoreUnavailable) -> None:
        if len(self._pending) == self._pending.maxlen:
            dropped = self._pending[0]
            log.error("settlement queue full: dropping %s/%s ($%.6f)",
                      dropped[0].tenant, dropped[0].request_id, dropped[1])
        self._pending.append((hold, actual_usd, record))
        log.warning("budget store down (%s): settlement of %s/%s queued, %d waiting",
                    exc, hold.tenant, hold.request_id, len(self._pending))

