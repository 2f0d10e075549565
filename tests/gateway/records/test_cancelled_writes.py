"""A task cancelled in the middle of a records write leaves the store usable, and the
background loops stop without cancelling a write they are in.

The gateway's shutdown once cancelled the spend drainer inside psycopg's executemany. psycopg
3.3 then raised an AssertionError in place of the cancel and the connection stayed broken,
so the last drain at shutdown failed and the replica logged a traceback. Real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg.waiting as psycopg_waiting
import pytest

from gateway.ledger.base import SettledEntry
from gateway.ledger.spend_outbox import OutboxBatch
from gateway.records.postgres import PostgresRecordStore
from gateway.records.retention import SpendRetentionSweeper
from gateway.records.spend_drainer import SpendDrainer
from gateway.records.spend_history import SpendQuery
from gateway.records.sqlite import SQLiteRecordStore
from tests.gateway.records.spend_samples import entry


def _batch(tag: str, n: int = 60) -> list[SettledEntry]:
    # Many windows and rollup rows: the write spends several round trips in executemany.
    return [entry(f"{tag}-{i}", nanos=1_000, minute=i) for i in range(n)]


async def _requests(history: PostgresRecordStore) -> int:
    groups = await history.spend_groups(SpendQuery("acme"))
    return groups[0].requests if groups else 0


class _CancelAtYield:
    """Stands in for the `sleep(0)` psycopg's waits yield through, with the loop's busy-time
    check at zero so that each wait yields: the n-th yield cancels the task that makes it,
    as a cancel from a shutdown would land there. Each n in turn covers every point."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = 0
        self.count = 0
        monkeypatch.setattr(psycopg_waiting, "MAX_BUSY_TIME", 0.0)
        monkeypatch.setattr(psycopg_waiting, "sleep", self.sleep)

    async def sleep(self, seconds: float) -> None:
        self.count += 1
        if self.count == self.at:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
        await asyncio.sleep(seconds)

    def arm(self, at: int) -> None:
        self.at, self.count = at, 0


@pytest.mark.postgres
async def test_a_write_cancelled_at_any_point_leaves_the_store_working(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    history = PostgresRecordStore(pg_url)
    await history.open()
    cancel = _CancelAtYield(monkeypatch)
    written = 0
    for at in range(1, 500):
        batch = _batch(f"t{at}")
        cancel.arm(at)
        task = asyncio.create_task(history.write_spend(batch))
        await asyncio.wait({task})
        cancel.arm(0)
        # Before, one of these points raised AssertionError from psycopg's pipeline instead.
        assert task.cancelled() or task.exception() is None, repr(task.exception())
        if not task.cancelled():
            written += len(batch)
        # A cancelled write is rolled back whole, and the next one works.
        await history.write_spend(_batch(f"after{at}", 3))
        written += 3
        assert await _requests(history) == written
        if not task.cancelled():
            break  # the write now ends before the n-th yield: every point was tried
    else:
        pytest.fail("the write never finished before the cancel")
    await history.aclose()


class _SlowHistory:
    """Spend history on SQLite whose writes take `delay_s`, and which records a cancel."""

    def __init__(self, inner: SQLiteRecordStore, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.started = asyncio.Event()
        self.cancelled = 0

    async def write_spend(self, entries: list[SettledEntry]) -> None:
        self.started.set()
        try:
            await asyncio.sleep(self.delay_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        await self.inner.write_spend(entries)


class _ListOutbox:
    def __init__(self, entries: list[SettledEntry]) -> None:
        self.entries = entries
        self.acked = 0

    async def read(self, limit: int) -> OutboxBatch:
        return OutboxBatch(entries=tuple(self.entries[:limit]), token=None)

    async def ack(self, batch: OutboxBatch) -> None:
        del self.entries[:len(batch.entries)]
        self.acked += len(batch.entries)


async def test_closing_the_drainer_lets_the_write_in_progress_finish(tmp_path: Path) -> None:
    inner = SQLiteRecordStore(tmp_path / "records.sqlite3")
    history = _SlowHistory(inner, delay_s=0.3)
    outbox = _ListOutbox(_batch("close", 20))
    drainer = SpendDrainer(outbox, history, batch_size=50)  # type: ignore[arg-type]
    drainer.start()
    await history.started.wait()
    await drainer.aclose(timeout_s=5.0)
    assert history.cancelled == 0, "the round was cancelled mid-write"
    assert outbox.acked == 20 and not outbox.entries
    assert (await inner.spend_groups(SpendQuery("acme")))[0].requests == 20
    await inner.aclose()


async def test_a_write_stuck_past_the_timeout_is_cancelled_and_left_in_the_outbox(
        tmp_path: Path) -> None:
    inner = SQLiteRecordStore(tmp_path / "records.sqlite3")
    history = _SlowHistory(inner, delay_s=60.0)
    outbox = _ListOutbox(_batch("stuck", 5))
    drainer = SpendDrainer(outbox, history)  # type: ignore[arg-type]
    drainer.start()
    await history.started.wait()
    await drainer.aclose(timeout_s=0.2)
    assert history.cancelled >= 1
    assert outbox.acked == 0 and len(outbox.entries) == 5, "unstored entries stay pending"
    await inner.aclose()


async def test_closing_the_spend_sweeper_wakes_it_from_its_interval(tmp_path: Path) -> None:
    history = SQLiteRecordStore(tmp_path / "records.sqlite3", spend_retention_days=1)
    sweeper = SpendRetentionSweeper(history, interval_s=3600.0)
    sweeper.start()
    await asyncio.sleep(0.05)  # the first sweep runs, then the loop waits an hour
    closing = asyncio.ensure_future(sweeper.aclose(timeout_s=30.0))
    done, _ = await asyncio.wait({closing}, timeout=5.0)
    assert closing in done, "aclose waited for the interval instead of ending the loop"
    assert sweeper.last_error is None
    await history.aclose()
