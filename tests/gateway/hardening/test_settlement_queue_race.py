"""Settlements queued during a store outage are flushed exactly once by concurrent requests.

Found under load (Redis killed while 16 requests were in flight): two requests flushing the
queue at once both settled its head, then both popped, so one raised IndexError (a 500 and
a dropped connection) or popped a settlement that was never recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.ledger.base import BudgetWindow, Hold, SpendRecord, StoreUnavailable
from gateway.ledger.guard import BudgetGuard
from gateway.ledger.memory import InMemorySpendStore


class SlowRecoveringStore(InMemorySpendStore):
    """Down until `up` is set; each settle then yields to the loop, as a network call does."""

    up = False

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        if not self.up:
            raise StoreUnavailable("down")
        await asyncio.sleep(0)
        await super().settle(hold, actual_usd, record)

    async def reserve(self, tenant: str, request_id: str, amount_usd: float,
                      windows: Sequence[BudgetWindow], ttl_s: float) -> Hold:
        return await super().reserve(tenant, request_id, amount_usd, windows, ttl_s)


def queued(guard: BudgetGuard, request_id: str, usd: float) -> tuple[Hold, float, SpendRecord]:
    hold = Hold("acme", request_id, usd, ())
    return hold, usd, SpendRecord("acme", request_id, "m", "passthrough", usd)


async def test_concurrent_flushes_settle_each_queued_item_once() -> None:
    store = SlowRecoveringStore()
    guard = BudgetGuard(store)
    costs = {f"req-{i}": 0.001 * (i + 1) for i in range(6)}
    for request_id, usd in costs.items():
        await guard.settle(*queued(guard, request_id, usd))  # queued: the store is down
    assert guard.pending == len(costs)
    store.up = True
    results = await asyncio.gather(*(guard.flush_pending() for _ in range(4)),
                                   return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert guard.pending == 0
    recorded = {r.request_id: r.cost_usd for r in await store.records("acme")}
    assert recorded == costs
