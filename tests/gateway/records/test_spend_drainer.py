"""Settled spend reaches the records database through the ledger's outbox, exactly once.

Real Redis (the log stream is the outbox, trimmed after each stored batch), the in-process
journal (drained past a checkpoint, and start-up reads only the tail), real SQLite, and a
real PostgreSQL killed and restarted to show that an outage loses nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.ledger.base import BudgetWindow, SpendStore
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.redis_store import RedisSpendStore
from gateway.ledger.spend_outbox import JournalOutbox, OutboxBatch, checkpoint_path
from gateway.records.postgres import PostgresRecordStore
from gateway.records.spend_drainer import SpendDrainer, open_spend_drainer
from gateway.records.spend_history import SpendQuery
from gateway.records.sqlite import SQLiteRecordStore
from tests.gateway.ledger.helpers import eventually, record_for, window
from tests.gateway.ledger.redis_fixtures import ledger_redis, ledger_redis_cluster, redis_url
from tests.postgres_server import PostgresServer, running_server
from tests.redis_cluster import RedisCluster

__all__ = ["ledger_redis", "ledger_redis_cluster", "redis_url"]

WINDOWS = [window("day:2026-11-03", 1000.0), window("month:2026-11", 1000.0)]


async def settle_many(store: SpendStore, n: int, start: int = 0, tenant: str = "acme",
                      windows: list[BudgetWindow] = WINDOWS) -> int:
    """Settles `n` requests of 1..n micro-dollars; the nano-dollars settled."""
    total = 0
    for i in range(start, start + n):
        usd = (i + 1) * 1e-6
        hold = await store.reserve(tenant, f"q{i}", usd, windows, 60.0)
        await store.settle(hold, usd, record_for(hold, usd))
        total += (i + 1) * 1000
    return total


async def stored(history: SQLiteRecordStore | PostgresRecordStore,
                 tenant: str = "acme") -> tuple[int, int]:
    groups = await history.spend_groups(SpendQuery(tenant))
    return (groups[0].requests, groups[0].cost_nanos) if groups else (0, 0)


@pytest.mark.redis
async def test_redis_stream_drains_once_and_is_trimmed(redis_url: str, tmp_path: Path) -> None:
    store = RedisSpendStore.from_url(redis_url)
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    # Two replicas' drainers on the same streams at once: duplicates, never a loss.
    drainers = [SpendDrainer(store.spend_outbox(), history, batch_size=37) for _ in range(2)]
    total = await settle_many(store, 300)
    await asyncio.gather(*(d.drain() for d in drainers))
    assert await stored(history) == (300, total)
    client = aioredis.Redis.from_url(redis_url)
    assert await client.xlen("costroute:{acme}:log") == 0
    assert (await drainers[0].lag()).pending == 0
    # Window counters stay in Redis: the budget still sees the spend.
    [day, _] = await store.state("acme", WINDOWS)
    assert day.spent_nanos == total
    await client.aclose()
    await store.close()
    await history.aclose()


@pytest.mark.redis
async def test_redis_memory_stays_bounded_with_a_running_drainer(
        redis_url: str, tmp_path: Path) -> None:
    store = RedisSpendStore.from_url(redis_url)
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    drainer = SpendDrainer(store.spend_outbox(), history, idle_s=0.01)
    drainer.start()
    client = aioredis.Redis.from_url(redis_url)
    longest = 0
    for round_ in range(10):
        await settle_many(store, 100, start=round_ * 100)
        longest = max(longest, int(await client.xlen("costroute:{acme}:log")))
    assert await eventually(lambda: _empty(client), timeout_s=20)
    assert longest < 1000, "the stream must not hold every settled entry"
    assert (await stored(history))[0] == 1000
    await drainer.aclose()
    await client.aclose()
    await store.close()
    await history.aclose()


async def _empty(client: aioredis.Redis) -> bool:
    return int(await client.xlen("costroute:{acme}:log")) == 0


async def test_journal_drains_past_a_checkpoint_and_is_compacted_to_the_tail(
        tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    store = InMemorySpendStore(journal)
    first = await settle_many(store, 50)
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None and isinstance(drainer.outbox, JournalOutbox)
    assert await drainer.drain() == 50
    assert checkpoint_path(journal).exists()
    second = await settle_many(store, 7, start=50)  # settled, not yet drained
    assert await store.compact()
    await store.close()
    assert len(journal.read_bytes().splitlines()) == 1 + 7, "a header and the undrained tail"

    reopened = InMemorySpendStore(journal)
    [day, month] = await reopened.state("acme", WINDOWS)
    assert day.spent_nanos == month.spent_nanos == first + second
    third = await settle_many(reopened, 3, start=57)
    again = open_spend_drainer(reopened, history, journal)
    assert again is not None
    assert (await again.lag()).pending == 10
    assert await reopened.entries() == [], "history is the database's: not held in memory"
    assert await again.drain() == 10
    assert await stored(history) == (60, first + second + third)
    await reopened.close()
    await history.aclose()


@pytest.fixture
def own_pg() -> Iterator[PostgresServer]:
    """A server of this test's own, since the test kills it."""
    yield from running_server()


@pytest.mark.postgres
@pytest.mark.redis
async def test_database_down_loses_nothing_and_catches_up(
        own_pg: PostgresServer, redis_url: str) -> None:
    url = own_pg.create_database()
    store = RedisSpendStore.from_url(redis_url)
    history = PostgresRecordStore(url)
    drainer = SpendDrainer(store.spend_outbox(), history, idle_s=0.01, retry_max_s=0.2)
    drainer.start()
    before = await settle_many(store, 40)
    assert await eventually(lambda: _drained(drainer, 40))
    own_pg.kill()
    during = await settle_many(store, 60, start=40)  # budgets keep working without the DB
    await asyncio.sleep(0.3)
    lag = await drainer.lag()
    assert lag.pending == 60
    assert lag.oldest_age_s is not None and lag.oldest_age_s > 0
    assert drainer.failures > 0
    own_pg.start()
    assert await eventually(lambda: _drained(drainer, 100), timeout_s=30)
    assert await stored(history) == (100, before + during)
    assert (await drainer.lag()).pending == 0
    await drainer.aclose()
    await store.close()
    await history.aclose()


async def _drained(drainer: SpendDrainer, n: int) -> bool:
    return drainer.drained >= n and (await drainer.lag()).pending == 0


async def test_a_new_database_is_filled_from_the_whole_journal(tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    store = InMemorySpendStore(journal)
    total = await settle_many(store, 12)
    first = SQLiteRecordStore(tmp_path / "first.sqlite3")
    drainer = open_spend_drainer(store, first, journal)
    assert drainer is not None and await drainer.drain() == 12
    second = SQLiteRecordStore(tmp_path / "second.sqlite3")  # `records:` pointed elsewhere
    moved = open_spend_drainer(store, second, journal)
    assert moved is not None and await moved.drain() == 12
    assert await stored(second) == (12, total)
    await store.close()
    await first.aclose()
    await second.aclose()


@pytest.mark.redis
async def test_redis_cluster_streams_drain_and_trim(ledger_redis_cluster: RedisCluster,
                                                    tmp_path: Path) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    store = RedisSpendStore.from_url(ledger_redis_cluster.url, cluster=True, prefix=prefix)
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    # Tenants spread over the primaries: SCAN must find every tenant's stream.
    totals = {t: await settle_many(store, 20, tenant=t) for t in ("acme", "beta", "gamma")}
    drainer = SpendDrainer(store.spend_outbox(), history)
    assert await drainer.drain() == 60
    for tenant, total in totals.items():
        assert await stored(history, tenant) == (20, total)
    assert (await drainer.lag()).pending == 0
    await store.close()
    await history.aclose()


class _CancelSwallowingOutbox:
    """An empty outbox whose read loses the first cancellation it sees, as Python 3.11's
    `asyncio.wait_for` can when a cancel lands as its inner wait completes."""

    def __init__(self) -> None:
        self.swallowed = 0

    async def read(self, limit: int) -> OutboxBatch:
        if not self.swallowed:
            try:
                await asyncio.sleep(10.0)  # where the loop is when it is closed
            except asyncio.CancelledError:
                self.swallowed += 1
        return OutboxBatch(entries=(), token=None)

    async def ack(self, batch: OutboxBatch) -> None:
        return None


async def test_close_ends_the_loop_even_if_a_cancellation_is_lost(tmp_path: Path) -> None:
    outbox = _CancelSwallowingOutbox()
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    drainer = SpendDrainer(outbox, history, idle_s=0.0)  # type: ignore[arg-type]
    drainer.start()
    await asyncio.sleep(0.05)
    task = drainer._task
    # Before, `await task` after cancel() waited as long as the loop ran: forever. Not
    # wait_for: its own cancel on timeout would reach the loop and hide the hang.
    closing = asyncio.ensure_future(drainer.aclose(timeout_s=0.5))
    done, _ = await asyncio.wait({closing}, timeout=30.0)
    assert closing in done, "aclose did not return"
    assert task is not None and task.done()
    await history.aclose()


async def test_journal_lag_counts_the_waiting_lines_past_the_checkpoint(tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    store = InMemorySpendStore(journal)
    await settle_many(store, 25)
    await store.close()
    outbox = JournalOutbox(journal, "db")
    lag = await outbox.lag()
    assert lag.pending == 25 and lag.oldest_age_s is not None
    await outbox.ack(await outbox.read(10))
    assert (await outbox.lag()).pending == 15
    # A torn last line is not an entry yet.
    journal.write_bytes(journal.read_bytes() + b'{"v": 1, "settled_at"')
    assert (await outbox.lag()).pending == 15
    await outbox.ack(await outbox.read(100))
    lag = await outbox.lag()
    assert lag.pending == 0 and lag.oldest_age_s is None
