"""The budget gate the pipeline talks to: reserve before a call, settle after it."""

from __future__ import annotations

from typing import Protocol

from gateway.ledger.base import Hold, SpendRecord
from gateway.tenants.config import TenantConfig


class BudgetGate(Protocol):
    async def reserve(self, tenant: TenantConfig, request_id: str, amount_usd: float) -> Hold:
        """Hold `amount_usd`, or raise gateway.errors.BudgetExceeded / ServiceUnavailable."""
        ...

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None: ...

    async def release(self, hold: Hold) -> None: ...

    async def remaining_fraction(self, tenant: TenantConfig) -> float | None:
        """Share of the tightest period budget still free (None when unlimited)."""
        ...


class UnlimitedBudget:
    """A gate that admits everything and records nothing: for tests of other steps."""

    async def reserve(self, tenant: TenantConfig, request_id: str, amount_usd: float) -> Hold:
        return Hold(tenant.name, request_id, amount_usd, ())

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        return None

    async def release(self, hold: Hold) -> None:
        return None

    async def remaining_fraction(self, tenant: TenantConfig) -> float | None:
        return None
