"""The budget gate the pipeline talks to: reserve before a call, settle after it."""

from __future__ import annotations

from typing import Protocol

from gateway.ledger.base import Hold, SpendRecord
from gateway.ledger.guard import BudgetGuard
from gateway.ratelimit.base import RateLimiter
from gateway.tenants.config import TenantConfig
from routers.base import Policy


class BudgetGate(Protocol):
    async def reserve(self, tenant: TenantConfig, request_id: str, amount_usd: float) -> Hold:
        """Hold `amount_usd`, or raise BudgetExhausted / StoreUnavailable."""
        ...

    async def top_up(self, tenant: TenantConfig, hold: Hold, amount_usd: float) -> Hold:
        """Raise `hold` to `amount_usd` before a dearer fallback, or raise BudgetExhausted."""
        ...

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None: ...

    async def release(self, hold: Hold) -> None: ...

    async def policy(self, tenant: TenantConfig, cheapest_usd: float) -> Policy:
        """The tenant's policy, paced by its budget; BudgetExhausted if even the cheapest
        candidate (`cheapest_usd`, its worst-case cost) cannot be afforded."""
        ...

    async def admit(self, tenant: TenantConfig, tokens: int) -> None:
        """Counts one request against the tenant's rate limits, or raises RateLimitExceeded."""
        ...

    async def aclose(self) -> None: ...


class LedgerBudget:
    """`BudgetGate` over a BudgetGuard (any SpendStore) and a rate limiter."""

    def __init__(self, guard: BudgetGuard, limiter: RateLimiter):
        self.guard = guard
        self.limiter = limiter

    async def reserve(self, tenant: TenantConfig, request_id: str, amount_usd: float) -> Hold:
        return await self.guard.reserve(tenant, request_id, amount_usd)

    async def top_up(self, tenant: TenantConfig, hold: Hold, amount_usd: float) -> Hold:
        return await self.guard.top_up(tenant, hold, amount_usd)

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        await self.guard.settle(hold, actual_usd, record)

    async def release(self, hold: Hold) -> None:
        await self.guard.release(hold)

    async def policy(self, tenant: TenantConfig, cheapest_usd: float) -> Policy:
        if not tenant.budgets:
            return tenant.policy.to_policy()
        status = await self.guard.status(tenant)
        if status.known:
            status.ensure_affordable(cheapest_usd)
        return self.guard.policy_for(tenant, status)

    async def admit(self, tenant: TenantConfig, tokens: int) -> None:
        limits = tenant.rate_limits
        if limits.requests_per_minute is None and limits.tokens_per_minute is None:
            return
        decision = await self.limiter.acquire(tenant.name, limits, tokens=tokens)
        decision.raise_if_denied()

    async def aclose(self) -> None:
        await self.guard.aclose()
        await self.limiter.close()


class UnlimitedBudget:
    """A gate that admits everything and records nothing: for tests of other steps."""

    async def reserve(self, tenant: TenantConfig, request_id: str, amount_usd: float) -> Hold:
        return Hold(tenant.name, request_id, amount_usd, ())

    async def top_up(self, tenant: TenantConfig, hold: Hold, amount_usd: float) -> Hold:
        return Hold(hold.tenant, hold.request_id, max(amount_usd, hold.amount_usd), hold.windows)

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        return None

    async def release(self, hold: Hold) -> None:
        return None

    async def policy(self, tenant: TenantConfig, cheapest_usd: float) -> Policy:
        return tenant.policy.to_policy()

    async def admit(self, tenant: TenantConfig, tokens: int) -> None:
        return None

    async def aclose(self) -> None:
        return None
