"""Records retention: captured traffic is deleted once it is older than the tenant data's
allowed age, by the gateway on a timer or by `costroute learn purge`.

What a purge deletes (every store does the same, `RecordStore.purge`):

- the requests created before the cut-off: client traffic, shadow calls, judge calls;
- every label of a deleted request, whenever it was given (a label without its prompt and
  answer cannot be trained on, and the comment may quote the answer);
- the text vectors of the deleted prompts and answers, under the keys a capture or a retrain
  stored them by (`vector_keys`). A vector depends only on its text, so two tenants that sent
  one text share it: deleting it for one costs the other a re-embedding, never data. With no
  tenant named, also every vector stored before the cut-off.

Spend history is not records: it stays (a budget or an invoice may still need it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from gateway.records.base import PurgeCounts, RecordStore, RecordStoreUnavailable
from routers.datasets.text import embedding_text, text_hash

log = logging.getLogger("costroute.records")

DAY_S = 86_400.0


def vector_keys(texts: Iterable[str | None]) -> set[str]:
    """The keys the vectors of `texts` may be stored under: the text itself (capture stores
    the prompt it embedded, and answers as they are) and the text a retrain embeds for a
    stored prompt (routers.datasets.text.embedding_text)."""
    keys: set[str] = set()
    for text in texts:
        if text:
            keys.add(text_hash(text))
            keys.add(text_hash(embedding_text(text)))
    return keys


class RetentionSweeper:
    """Purges records older than `retention_days` every `interval_s`, in the background.

    Every replica may run one: a purge is idempotent, and the cut-off only moves forward. A
    database outage skips that round (logged); the next one deletes what it missed.
    """

    def __init__(self, store: RecordStore, retention_days: float, interval_s: float = 3600.0,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.retention_s = retention_days * DAY_S
        self.interval_s = interval_s
        self.purged = PurgeCounts()
        self.last_error: str | None = None
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def sweep(self) -> PurgeCounts:
        """One purge now, of everything created before now minus the retention."""
        counts = await self.store.purge(self._clock() - self.retention_s)
        self.purged = PurgeCounts(self.purged.requests + counts.requests,
                                  self.purged.labels + counts.labels,
                                  self.purged.vectors + counts.vectors)
        if counts.requests or counts.labels or counts.vectors:
            log.info("records retention: purged %d requests, %d labels, %d vectors older "
                     "than %g days", counts.requests, counts.labels, counts.vectors,
                     self.retention_s / DAY_S)
        return counts

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
                self.last_error = None
            except RecordStoreUnavailable as exc:
                self.last_error = str(exc)
                log.warning("records retention: purge failed, next try in %.0fs: %s",
                            self.interval_s, exc)
            except Exception as exc:  # a background loop must outlive any one bad round
                self.last_error = str(exc)
                log.exception("records retention: purge failed, next try in %.0fs",
                              self.interval_s)
            await asyncio.sleep(self.interval_s)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
