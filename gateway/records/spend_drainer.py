"""Copies settled spend from the ledger's outbox into the records database, in the background.

One drainer per replica. Each round reads the oldest batch from the outbox (the Redis log
streams or the in-process journal), writes it to the database (idempotent by tenant and
request id) and only then acknowledges it (trims the stream, moves the journal checkpoint).
If the database or Redis is down the batch stays where it is and the drainer retries with
capped exponential backoff: nothing settled is lost, and `lag()` says how far behind it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from gateway.ledger.base import LedgerCorrupt, StoreUnavailable
from gateway.ledger.spend_outbox import JournalOutbox, OutboxLag, SpendOutbox
from gateway.records.background import finish, pause
from gateway.records.base import RecordStoreUnavailable
from gateway.records.spend_history import SpendHistory

log = logging.getLogger("costroute.spend")


class SpendDrainer:
    def __init__(self, outbox: SpendOutbox, history: SpendHistory, *, batch_size: int = 500,
                 idle_s: float = 0.25, retry_base_s: float = 0.05, retry_max_s: float = 5.0):
        self.outbox = outbox
        self.history = history
        self.batch_size = batch_size
        self.idle_s = idle_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.drained = 0
        self.failures = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        # One round at a time per process: two rounds acknowledging the same journal batch
        # would count its window totals twice in the checkpoint.
        self._round = asyncio.Lock()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """Drain now rather than after the idle pause."""
        self._wake.set()

    async def drain_once(self) -> int:
        """Stores and acknowledges one batch; how many entries it held (0: nothing pending)."""
        async with self._round:
            batch = await self.outbox.read(self.batch_size)
            if not batch.entries:
                return 0
            await self.history.write_spend(batch.entries)
            await self.outbox.ack(batch)
            self.drained += len(batch.entries)
            return len(batch.entries)

    async def drain(self) -> int:
        """Drains until the outbox is empty (raises what a round raises)."""
        total = 0
        while n := await self.drain_once():
            total += n
        return total

    async def catch_up(self, timeout_s: float = 2.0) -> None:
        """Drains what is pending, for at most `timeout_s`, so that a report read right after
        a request includes it; a database or Redis outage only leaves it pending (see lag)."""
        async def refreshed_drain() -> int:
            await self.outbox.refresh()  # a tenant new since the last scan has its own stream
            return await self.drain()

        with contextlib.suppress(TimeoutError, RecordStoreUnavailable, StoreUnavailable,
                                 LedgerCorrupt, OSError):
            async with asyncio.timeout(timeout_s):
                await refreshed_drain()

    async def lag(self) -> OutboxLag:
        return await self.outbox.lag()

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Stops the loop after one last attempt to drain; what is left waits in the outbox.

        The loop is asked to stop and given `timeout_s` to finish the round it is in, rather
        than cancelled mid-write: a cancellation that lands inside psycopg's executemany
        breaks the connection (and surfaced as an AssertionError in place of the cancel).
        Only a round stuck past the timeout is cancelled (gateway/records/background.py).
        """
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            self._wake.set()
            ended_on = await finish(task, timeout_s)
            if ended_on is not None:
                log.warning("spend history: the drain loop ended on %r; what it had not "
                            "stored waits in the outbox", ended_on)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout_s):
                await self.drain()

    async def _run(self) -> None:
        delay = self.retry_base_s
        while not self._stopping.is_set():
            try:
                moved = await self.drain_once()
            except (RecordStoreUnavailable, StoreUnavailable, LedgerCorrupt, OSError) as exc:
                self.failures += 1
                self.last_error = str(exc)
                log.warning("spend history: drain failed, retrying in %.2fs: %s", delay, exc)
                # Not on _wake: requests keep setting it, and an outage must not spin.
                await pause(self._stopping, delay)
                delay = min(self.retry_max_s, delay * 2)
                continue
            delay = self.retry_base_s
            if moved < self.batch_size:
                self._wake.clear()
                if not self._stopping.is_set():
                    await pause(self._wake, self.idle_s)


def open_spend_drainer(store: object, record_store: object,
                       journal: Path | None) -> SpendDrainer | None:
    """A drainer from the ledger's outbox into `record_store`, if both have one; not started."""
    if not isinstance(record_store, SpendHistory):
        return None
    outbox: SpendOutbox | None = None
    make_outbox = getattr(store, "spend_outbox", None)
    if callable(make_outbox):
        outbox = make_outbox()
    elif journal is not None:
        where = getattr(record_store, "url", None) or getattr(record_store, "path", None)
        outbox = JournalOutbox(journal, str(Path(where).resolve()) if isinstance(where, Path)
                               else str(where or ""))
        forget = getattr(store, "stop_keeping_entries", None)
        if callable(forget):
            forget()  # history is the database's now: the store need not hold it in memory
    return SpendDrainer(outbox, record_store) if outbox is not None else None
