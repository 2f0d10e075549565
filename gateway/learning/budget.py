"""The tenant's learning budget: shadow and judge calls reserve and settle here, never in
the traffic's budgets.

The learning budget lives in the same SpendStore as the traffic's, under window keys of
its own (`learning:day:2026-12-06`), so a learning hold never touches a traffic window and
the two cannot eat each other's money. Every settled learning call is logged with
`extra.purpose = "learning"`, which `GET /v1/costroute/spend?by=purpose` splits out.
No `learning.budget` configured means no learning spend at all: shadow jobs are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
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
from gateway.tenants.config import TenantConfig
from gateway.tenants.periods import budget_window

PURPOSE = "learning"
KEY_PREFIX = "learning:"


class LearningBudgetUnavailable(Exception):
    """No learning spend is possible now: no budget, no ledger, exhausted, or store down."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LearningBudget:
    """Reserve-then-settle of learning calls against `tenant.learning.budget`."""

    def __init__(self, store: Callable[[], SpendStore | None], *, hold_ttl_s: float = 900.0,
                 clock: Callable[[], datetime] = _utc_now):
        self._store = store  # a getter: the gateway's ledger is attached after assembly
        self.hold_ttl_s = hold_ttl_s
        self._clock = clock

    def windows(self, tenant: TenantConfig) -> list[BudgetWindow]:
        budget = tenant.learning.budget
        if budget is None:
            return []
        window = budget_window(budget, tenant.zone(), self._clock())
        return [replace(window, name=f"learning-{window.name}", key=KEY_PREFIX + window.key)]

    def _ledger(self, tenant: TenantConfig) -> tuple[SpendStore, list[BudgetWindow]]:
        windows = self.windows(tenant)
        if not windows:
            raise LearningBudgetUnavailable("no_budget")
        store = self._store()
        if store is None:
            raise LearningBudgetUnavailable("no_ledger")
        return store, windows

    async def remaining_usd(self, tenant: TenantConfig) -> float:
        store, windows = self._ledger(tenant)
        try:
            states = await store.state(tenant.name, windows)
        except StoreUnavailable:
            raise LearningBudgetUnavailable("store_down") from None
        return min(s.remaining_usd for s in states)

    async def reserve(self, tenant: TenantConfig, call_id: str, amount_usd: float) -> Hold:
        store, windows = self._ledger(tenant)
        try:
            return await store.reserve(tenant.name, call_id, amount_usd, windows,
                                       self.hold_ttl_s)
        except InsufficientBudget:
            raise LearningBudgetUnavailable("exhausted") from None
        except StoreUnavailable:
            # Learning is optional: with the ledger down it waits rather than spend unchecked.
            raise LearningBudgetUnavailable("store_down") from None

    async def settle(self, hold: Hold, record: SpendRecord) -> None:
        store = self._store()
        if store is None:
            return
        try:
            await store.settle(hold, record.cost_usd, record)
        except StoreUnavailable:
            pass  # the hold's TTL frees it; the call is lost from the report, counted by caller

    async def release(self, hold: Hold) -> None:
        store = self._store()
        if store is None:
            return
        try:
            await store.release(hold)
        except StoreUnavailable:
            pass  # the hold's TTL frees it


def learning_record(tenant: str, call_id: str, model: str, route: str, cost_usd: float,
                    prompt_tokens: int, completion_tokens: int, **extra: Any) -> SpendRecord:
    """A settled learning call, marked `purpose: learning` for the spend report."""
    return SpendRecord(tenant=tenant, request_id=call_id, model=model, route=route,
                       cost_usd=cost_usd, prompt_tokens=prompt_tokens,
                       completion_tokens=completion_tokens,
                       extra={"purpose": PURPOSE, **extra})
