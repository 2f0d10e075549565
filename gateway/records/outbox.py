"""The bounded outbox between the request path and the records store.

`RecordOutbox` is the gateway's RecordSink: `add_request` and `add_label` only append to an
in-memory queue (they never block and never raise), and one background task drains the
queue in batches into the RecordStore. While the store raises RecordStoreUnavailable the
drainer keeps the batch and retries with capped exponential backoff, so a database outage
costs no request and loses nothing that fits in the queue; once the queue holds `capacity`
records, new ones are dropped and counted (`costroute_records_dropped_total`). On shutdown
`aclose` drains what it can within its timeout and counts the rest as dropped.

Feedback may arrive before its request has been drained: `pending_request` finds a request
still in the queue or in the batch being written.

`add_deferred` queues a request whose record is built later, by the drainer: capture uses it
so that redaction (regexes over the prompt and answer, ~0.1-1 ms) runs after the client has
its answer, one record at a time between other tasks, and not on the request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gateway.metrics import shared_metrics_dir
from gateway.records.base import Label, RecordStore, RecordStoreUnavailable, RequestRecord
from gateway.records.outbox_metrics import OutboxMetrics, OutboxStats

log = logging.getLogger("costroute.records")



@dataclass(slots=True)
class Deferred:
    """A request whose record is built when it is drained (or when feedback asks for it)."""

    request_id: str
    tenant: str
    build: Callable[[], RequestRecord]
    built: RequestRecord | None = None

    def record(self) -> RequestRecord:
        if self.built is None:
            self.built = self.build()
        return self.built


Item = RequestRecord | Label | Deferred


def _built() -> RequestRecord:
    raise AssertionError("a deferred record is built once")


class RecordOutbox:
    def __init__(self, store: RecordStore, *, capacity: int = 10_000, batch_size: int = 256,
                 metrics: OutboxMetrics | None = None, retry_base_s: float = 0.05,
                 retry_max_s: float = 5.0):
        self.store = store
        self.capacity = capacity
        self.batch_size = batch_size
        self.metrics = metrics or OutboxMetrics()
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self._queue: deque[Item] = deque()
        self._inflight: list[Item] = []
        self._pending: dict[str, RequestRecord | Deferred] = {}  # request id -> not stored yet
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._written = self._dropped = self._failures = 0
        self._last_error: str | None = None
        # Counted at each scrape; where the workers share their metrics in files, a scrape
        # reads the files only, so the drainer writes the depth there as it changes.
        self._shared_depth = shared_metrics_dir() is not None
        if not self._shared_depth:
            self.metrics.depth.set_function(lambda: len(self._queue) + len(self._inflight))

    # -- RecordSink --------------------------------------------------------------------------

    def add_request(self, record: RequestRecord) -> None:
        if self._offer(record, "request"):
            self._pending[record.request_id] = record

    def add_label(self, label: Label) -> None:
        self._offer(label, "label")

    def add_deferred(self, request_id: str, tenant: str,
                     build: Callable[[], RequestRecord]) -> None:
        """Queues a request whose record `build()` makes later (it must not raise often)."""
        item = Deferred(request_id, tenant, build)
        if self._offer(item, "request"):
            self._pending[request_id] = item

    def _offer(self, item: Item, kind: str) -> bool:
        try:
            if self._closing or len(self._queue) >= self.capacity:
                self._drop(kind, "closed" if self._closing else "full", 1)
                return False
            self._queue.append(item)
            self._kick()
            return True
        except Exception:
            log.exception("records outbox: could not queue a %s", kind)
            return False

    # -- reading what is not stored yet -------------------------------------------------------

    def pending_request(self, tenant: str, request_id: str) -> RequestRecord | None:
        found = self._pending.get(request_id)
        if found is None or found.tenant != tenant:
            return None
        if isinstance(found, Deferred):
            try:
                return found.record()
            except Exception:  # noqa: BLE001 - the drainer logs and counts it
                return None
        return found

    def stats(self) -> OutboxStats:
        return OutboxStats(len(self._queue) + len(self._inflight), self.capacity, self._written,
                           self._dropped, self._failures, self._last_error)

    # -- the drainer --------------------------------------------------------------------------

    def start(self) -> None:
        """Starts the drainer on the running loop (also done by the first record queued)."""
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._wake, self._idle = asyncio.Event(), asyncio.Event()
            self._task = self._loop.create_task(self._drain(), name="records-outbox")

    def _kick(self) -> None:
        if self._task is None:
            with contextlib.suppress(RuntimeError):  # no running loop: the next add starts it
                self.start()
        if self._wake is None or self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _publish_depth(self) -> None:
        if self._shared_depth:
            self.metrics.depth.set(len(self._queue) + len(self._inflight))

    async def _drain(self) -> None:
        assert self._wake is not None and self._idle is not None
        while True:
            self._publish_depth()
            if not self._queue:
                self._idle.set()
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            self._idle.clear()
            count = min(self.batch_size, len(self._queue))
            self._inflight = [self._queue.popleft() for _ in range(count)]
            await self._write(await self._materialize(self._inflight))
            for item in self._inflight:
                if isinstance(item, RequestRecord | Deferred):
                    self._pending.pop(item.request_id, None)
            self._inflight = []

    async def _materialize(self, batch: list[Item]) -> list[RequestRecord | Label]:
        """The batch's records, building deferred ones one at a time between other tasks."""
        out: list[RequestRecord | Label] = []
        for item in batch:
            if not isinstance(item, Deferred):
                out.append(item)
                continue
            try:
                out.append(item.record())
                item.build = _built  # let go of the request's messages
            except Exception:  # one bad record must not stop the drainer
                log.exception("records outbox: could not build the record of %s",
                              item.request_id)
                self._drop("request", "error", 1)
            await asyncio.sleep(0)
        return out

    async def _write(self, batch: list[RequestRecord | Label]) -> None:
        requests = [x for x in batch if isinstance(x, RequestRecord)]
        labels = [x for x in batch if isinstance(x, Label)]
        delay = self.retry_base_s
        while True:
            try:
                await self.store.write_requests(requests)
                await self.store.write_labels(labels)
            except RecordStoreUnavailable as exc:
                self._failures += 1
                self.metrics.failures.inc()
                if self._last_error is None:
                    log.warning("records store unavailable; %d records wait in the outbox: %s",
                                len(self._queue) + len(batch), exc)
                self._last_error = str(exc)
                self._publish_depth()
                await self._build_while_waiting(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            except Exception:
                log.exception("records outbox: a batch of %d could not be written", len(batch))
                self._drop("request", "error", len(requests))
                self._drop("label", "error", len(labels))
                return
            if self._last_error is not None:
                log.info("records store is back; the outbox is draining")
                self._last_error = None
            self._written += len(batch)
            self.metrics.written.labels("request").inc(len(requests))
            self.metrics.written.labels("label").inc(len(labels))
            return

    async def _build_while_waiting(self, seconds: float) -> None:
        """Sleeps `seconds`, building queued deferred records meanwhile: through an outage
        the queue then holds records (bounded text), not whole requests' messages."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        i = 0
        # Only this task pops from the left, so index i stays put while others append.
        while i < len(self._queue) and loop.time() < until:
            item = self._queue[i]
            if isinstance(item, Deferred) and item.built is None:
                try:
                    item.record()
                except Exception:  # one bad record must not stop the drainer
                    log.exception("records outbox: could not build the record of %s",
                                  item.request_id)
                    del self._queue[i]
                    self._pending.pop(item.request_id, None)
                    self._drop("request", "error", 1)
                    continue
                item.build = _built  # let go of the request's messages
                await asyncio.sleep(0)
            i += 1
        await asyncio.sleep(max(0.0, until - loop.time()))

    def _drop(self, kind: str, why: str, n: int) -> None:
        if n:
            self._dropped += n
            self.metrics.dropped.labels(kind, why).inc(n)

    async def flush(self, timeout_s: float | None = None) -> bool:
        """Waits until everything queued so far is stored; False on timeout."""
        if self._task is None or self._idle is None:
            return not self._queue
        self._kick()
        await asyncio.sleep(0)  # let the drainer take the queue before the idle check
        try:
            async with asyncio.timeout(timeout_s):
                while self._queue or self._inflight:
                    await self._idle.wait()
                    if self._queue or self._inflight:
                        await asyncio.sleep(0.01)
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Drains for up to `timeout_s`, then stops; what is left is counted as dropped."""
        self._closing = True
        if self._task is not None:
            self._kick()
            done, _ = await asyncio.wait({self._task}, timeout=timeout_s)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        left = [*self._inflight, *self._queue]
        if left:
            log.error("records outbox: %d records not stored at shutdown (store unavailable)",
                      len(left))
            self._drop("request", "shutdown", sum(not isinstance(x, Label) for x in left))
            self._drop("label", "shutdown", sum(isinstance(x, Label) for x in left))
        self._queue.clear()
        self._inflight = []
        self._pending.clear()
        self._task = None
