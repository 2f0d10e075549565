"""Running shadow jobs in the background, bounded: the loop sheds itself before traffic.

A job is queued with `submit`, which never blocks and never raises: when the queue is full
the job is dropped and counted (`costroute_learning_jobs{outcome="dropped"}`). A fixed
number of workers run jobs; a job's exception is contained, logged and counted, so a failing
judge or a dead shadow model never reaches a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.learning.metrics import LearningMetrics
from gateway.tenants.config import TenantConfig

log = logging.getLogger("costroute.learning")


@dataclass(frozen=True)
class ShadowJob:
    """One answered client request to label: the prompt, the served answer, whom to ask."""

    tenant: TenantConfig
    request_id: str
    route: str
    messages: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any]  # the client's max_tokens / temperature
    served_model: str
    served_answer: str
    served_cost_usd: float
    models: tuple[str, ...]  # the other candidates to ask
    question: str  # the last user message, as the judge sees it
    prompt: str  # the text the records keep (redacted)
    reference: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class ShadowRunner:
    """A bounded queue in front of `concurrency` workers that run `work(job)`."""

    def __init__(self, work: Callable[[ShadowJob], Awaitable[None]], metrics: LearningMetrics,
                 *, concurrency: int = 2, queue_size: int = 64):
        self._work = work
        self._metrics = metrics
        self._concurrency = concurrency
        self._queue: asyncio.Queue[ShadowJob] | None = None
        self._queue_size = queue_size
        self._workers: list[asyncio.Task[None]] = []

    def submit(self, job: ShadowJob) -> bool:
        """Queues `job`; False (counted as dropped) when the loop is saturated."""
        try:
            queue = self._started()
            queue.put_nowait(job)
        except (asyncio.QueueFull, RuntimeError):
            self._metrics.job("dropped")
            return False
        self._metrics.job("queued")
        return True

    def _started(self) -> asyncio.Queue[ShadowJob]:
        if self._queue is None:
            self._queue = asyncio.Queue(self._queue_size)
            self._workers = [asyncio.get_running_loop().create_task(self._worker())
                             for _ in range(self._concurrency)]
        return self._queue

    async def _worker(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            try:
                await self._work(job)
                self._metrics.job("done")
            except asyncio.CancelledError:
                raise
            except Exception:  # a job never takes a worker down, nor reaches a client
                self._metrics.job("failed")
                log.exception("shadow job for %s failed", job.request_id)
            finally:
                self._queue.task_done()

    @property
    def backlog(self) -> int:
        return 0 if self._queue is None else self._queue.qsize()

    async def drain(self) -> None:
        """Waits until every queued job has run (tests, benchmarks, shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    async def aclose(self, grace_s: float = 5.0) -> None:
        if self._queue is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.join(), grace_s)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        self._queue = None
