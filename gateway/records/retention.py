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

Spend history is not records: it stays (a budget or an invoice may still need it), unless
`records.spend_retention_days` is set; then `SpendRetentionSweeper` deletes its per-request
rows past that age and keeps the daily and hourly totals the reports read. With
`spend_hourly_retention_days` it deletes the hourly totals past that age too, by whole days;
the daily totals always stay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from gateway.records.background import finish, pause
from gateway.records.base import PurgeCounts, RecordStore, RecordStoreUnavailable
from gateway.records.spend_history import SpendHistory
from gateway.records.spend_sql import DAY_S
from routers.datasets.text import embedding_text, text_hash

log = logging.getLogger("costroute.records")



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


class PeriodicPurge:
    """Runs `sweep` every `interval_s` in the background; an outage or a failure skips that
    round (logged) and the next one deletes what it missed. Every replica may run one: a
    purge is idempotent, and the cut-off only moves forward."""

    what = "records retention"

    def __init__(self, interval_s: float = 3600.0):
        self.interval_s = interval_s
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def sweep(self) -> object:
        raise NotImplementedError

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
                self.last_error = None
            except RecordStoreUnavailable as exc:
                self.last_error = str(exc)
                log.warning("%s: purge failed, next try in %.0fs: %s", self.what,
                            self.interval_s, exc)
            except Exception as exc:  # a background loop must outlive any one bad round
                self.last_error = str(exc)
                log.exception("%s: purge failed, next try in %.0fs", self.what,
                              self.interval_s)
            await pause(self._stopping, self.interval_s)

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Lets a purge in progress run for up to `timeout_s`, then cancels it. Either way
        nothing is half-deleted (each page is its own transaction) and the next purge takes
        what is left; a cancel inside a database call only costs the store its connection
        (PostgresRecordStore._connected)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        ended_on = await finish(task, timeout_s)
        if ended_on is not None:
            log.warning("%s: the purge loop ended on %r", self.what, ended_on)


class RetentionSweeper(PeriodicPurge):
    """Purges records older than `retention_days` every `interval_s`, in the background."""

    def __init__(self, store: RecordStore, retention_days: float, interval_s: float = 3600.0,
                 clock: Callable[[], float] = time.time):
        super().__init__(interval_s)
        self.store = store
        self._clock = clock
        self.retention_s = retention_days * DAY_S
        self.purged = PurgeCounts()

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


class SpendRetentionSweeper(PeriodicPurge):
    """Every `interval_s`, deletes the per-request spend rows older than the history's
    `spend_retention_s` and the hourly totals older than its `spend_hourly_retention_s`
    (whole days); the daily totals stay (gateway/records/spend_sql.py)."""

    what = "spend retention"

    def __init__(self, history: SpendHistory, interval_s: float = 3600.0):
        super().__init__(interval_s)
        self.history = history
        self.purged = 0
        self.purged_hourly = 0

    async def sweep(self) -> int:
        """One purge now of each level with a retention; how many rows in all."""
        rows = hourly = 0
        horizon = self.history.raw_spend_since()
        if horizon is not None:
            rows = await self.history.purge_spend(horizon)
            self.purged += rows
            if rows:
                log.info("spend retention: purged %d per-request rows settled before %s "
                         "(daily and hourly totals kept)", rows, _utc(horizon))
        hourly_horizon = self.history.hourly_spend_since()
        if hourly_horizon is not None:
            hourly = await self.history.purge_spend_hourly(hourly_horizon)
            self.purged_hourly += hourly
            if hourly:
                log.info("spend retention: purged %d hourly totals of the days before %s "
                         "(daily totals kept)", hourly, _utc(hourly_horizon)[:10])
        return rows + hourly


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
