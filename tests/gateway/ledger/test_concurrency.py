"""500 concurrent requests on a budget that covers about 100: never one nano-dollar over.

The Redis runs use two stores with separate connection pools (two replicas, as far as Redis
can tell), and a separate run uses two OS processes. Never fakeredis here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.ledger.base import InsufficientBudget, SpendStore, limit_to_nanos, to_nanos
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.redis_store import RedisSpendStore
from tests.gateway.ledger.helpers import record_for, window

REQUESTS = 500
AMOUNT_USD = 0.01
LIMIT_USD = 1.0  # covers 100 reservations of AMOUNT_USD
ROOT = Path(__file__).resolve().parents[3]


async def _race(stores: list[SpendStore], actual_fraction: float) -> tuple[int, int]:
    """Fires every request at once, alternating stores; (admitted, settled nano-dollars)."""
    month = window(limit_usd=LIMIT_USD)
    actual = AMOUNT_USD * actual_fraction

    async def one(index: int) -> int:
        store = stores[index % len(stores)]
        try:
            hold = await store.reserve("acme", f"req-{index}", AMOUNT_USD, [month], 60.0)
        except InsufficientBudget:
            return 0
        await asyncio.sleep(0)  # let the others race between reserve and settle
        await store.settle(hold, actual, record_for(hold, actual))
        return 1

    admitted = sum(await asyncio.gather(*(one(i) for i in range(REQUESTS))))
    entries = await stores[0].entries("acme")
    return admitted, sum(e.actual_nanos for e in entries)


async def _reserve_all(stores: list[SpendStore]) -> int:
    month = window(limit_usd=LIMIT_USD)

    async def one(index: int) -> int:
        try:
            await stores[index % len(stores)].reserve("acme", f"r-{index}", AMOUNT_USD,
                                                      [month], 60.0)
        except InsufficientBudget:
            return 0
        return 1

    return sum(await asyncio.gather(*(one(i) for i in range(REQUESTS))))


def _budget_allows() -> int:
    return limit_to_nanos(LIMIT_USD) // to_nanos(AMOUNT_USD)


def _redis_pair(url: str) -> list[SpendStore]:
    # Generous timeouts: this box may be busy, and an outage is not what is tested here.
    return [RedisSpendStore.from_url(url, timeout_s=10) for _ in range(2)]


async def _close(stores: list[SpendStore]) -> None:
    for store in stores:
        await store.close()


async def test_memory_store_admits_exactly_what_the_budget_allows(tmp_path: Path) -> None:
    stores: list[SpendStore] = [InMemorySpendStore(tmp_path / "spend.jsonl")]
    admitted, settled = await _race(stores, actual_fraction=1.0)
    assert admitted == _budget_allows()
    assert settled <= limit_to_nanos(LIMIT_USD)
    await _close(stores)


async def test_memory_store_concurrent_holds_stop_at_the_budget() -> None:
    stores: list[SpendStore] = [InMemorySpendStore()]
    assert await _reserve_all(stores) == _budget_allows()


async def test_memory_store_cheaper_actuals_never_overspend(tmp_path: Path) -> None:
    stores: list[SpendStore] = [InMemorySpendStore(tmp_path / "spend.jsonl")]
    admitted, settled = await _race(stores, actual_fraction=0.4)
    assert admitted >= _budget_allows()
    assert settled <= limit_to_nanos(LIMIT_USD)
    await _close(stores)


@pytest.mark.redis
async def test_two_redis_clients_admit_exactly_what_the_budget_allows(redis_url: str) -> None:
    stores = _redis_pair(redis_url)
    try:
        admitted, settled = await _race(stores, actual_fraction=1.0)
    finally:
        await _close(stores)
    assert admitted == _budget_allows()
    assert settled <= limit_to_nanos(LIMIT_USD)


@pytest.mark.redis
async def test_two_redis_clients_concurrent_holds_stop_at_the_budget(redis_url: str) -> None:
    stores = _redis_pair(redis_url)
    try:
        assert await _reserve_all(stores) == _budget_allows()
    finally:
        await _close(stores)


@pytest.mark.redis
async def test_two_redis_clients_cheaper_actuals_never_overspend(redis_url: str) -> None:
    stores = _redis_pair(redis_url)
    try:
        admitted, settled = await _race(stores, actual_fraction=0.4)
    finally:
        await _close(stores)
    assert admitted >= _budget_allows()
    assert settled <= limit_to_nanos(LIMIT_USD)


@pytest.mark.redis
@pytest.mark.slow
def test_two_processes_share_one_redis_budget(redis_url: str) -> None:
    per_process = REQUESTS // 2
    command = [sys.executable, "-m", "tests.gateway.ledger.reserve_worker", redis_url, "acme",
               str(per_process), str(AMOUNT_USD), str(LIMIT_USD)]
    workers = [subprocess.Popen([*command, tag], cwd=ROOT, stdout=subprocess.PIPE, text=True)
               for tag in ("p1", "p2")]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0]
    admitted = sum(json.loads(out)["admitted"] for out in outputs)
    assert admitted == _budget_allows()

    async def settled_total() -> int:
        store = RedisSpendStore.from_url(redis_url)
        try:
            return sum(e.actual_nanos for e in await store.entries("acme"))
        finally:
            await store.close()

    assert asyncio.run(settled_total()) == admitted * to_nanos(AMOUNT_USD)
