"""A primary of a real Redis Cluster is killed mid-burst and its replica takes over.

What it does to budgets: while the slot has no primary (about the node timeout, 1 s here,
plus the election) reserves and settles fail as StoreUnavailable (503, or queued settles);
afterwards the replica serves the slot with what had been replicated. Writes acknowledged by
the old primary in its last replication round trip can be lost (Redis replicates
asynchronously): the test measures that loss and checks the outcome that matters, that the
acknowledged spend never exceeds the budget.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.ledger.base import InsufficientBudget, StoreUnavailable
from gateway.ledger.redis_store import RedisSpendStore
from tests.gateway.ledger.helpers import record_for, window
from tests.redis_cluster import RedisCluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]

HOLD, COST = 0.010, 0.004
BUDGET = 1.0
WORKERS = 16


@pytest.fixture
def cluster(tmp_path: Path) -> RedisCluster:
    made = RedisCluster(tmp_path / "cluster")
    made.start()
    yield made  # type: ignore[misc]
    made.stop()


async def test_killing_the_tenants_primary_mid_burst_never_overspends(
        cluster: RedisCluster) -> None:
    store = RedisSpendStore.from_url(cluster.url, cluster=True)
    month = window(limit_usd=BUDGET)
    primary = cluster.primary_for("costroute:{acme}:spent")
    acknowledged: list[float] = []
    unavailable = 0
    refused = 0
    counter = iter(range(1_000_000))

    deadline = time.monotonic() + 90

    async def worker() -> None:
        nonlocal unavailable, refused
        while time.monotonic() < deadline:
            request_id = f"r{next(counter)}"
            try:
                hold = await store.reserve("acme", request_id, HOLD, [month], 60)
            except InsufficientBudget:
                refused += 1
                if refused > 50:
                    return
                await asyncio.sleep(0.01)
                continue
            except StoreUnavailable:
                unavailable += 1
                await asyncio.sleep(0.05)
                continue
            while time.monotonic() < deadline:  # the call happened: retry its settle
                try:
                    await store.settle(hold, COST, record_for(hold, COST))
                    break
                except StoreUnavailable:
                    unavailable += 1
                    await asyncio.sleep(0.05)
            acknowledged.append(COST)

    async def assassin() -> None:
        while sum(acknowledged) < BUDGET * 0.3:
            await asyncio.sleep(0.005)
        primary.kill()

    started = time.monotonic()
    await asyncio.gather(assassin(), *(worker() for _ in range(WORKERS)))
    elapsed = time.monotonic() - started
    cluster.wait_healthy()
    [state] = await store.state("acme", [month])
    logged = await store.entries("acme")
    await store.close()

    spent_acknowledged = sum(acknowledged)
    lost_usd = spent_acknowledged - state.spent_usd
    print(f"\nfailover: {len(acknowledged)} settles acknowledged (${spent_acknowledged:.3f}),"
          f" counter ${state.spent_usd:.3f}, log {len(logged)} entries, lost ${lost_usd:.3f},"
          f" {unavailable} calls unavailable during failover, {elapsed:.1f} s")
    assert time.monotonic() < deadline, "the store did not recover after the failover"
    assert spent_acknowledged <= BUDGET + 1e-9, "overspent across the failover"
    assert state.spent_usd <= BUDGET + 1e-9
    assert cluster.primary_for("costroute:{acme}:spent") is not primary, "no failover happened"
