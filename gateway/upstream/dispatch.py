"""Retries with backoff, ordered fallbacks and cooldowns around a set of upstreams."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.config import RetryConfig
from gateway.errors import (
    GatewayError,
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.tracing import NoTracing, Tracing
from gateway.upstream.base import ChunkStream, Upstream, UpstreamFailure

T = TypeVar("T")

# Called with a model's name before the chain first tries it; may raise to stop the chain
# (the pipeline tops the budget hold up to that model's worst case here).
BeforeModel = Callable[[str], Awaitable[None]]


@dataclass
class Cooldowns:
    """Counts consecutive failures per model and benches a model for a while after too many."""

    failures_before_cooldown: int
    cooldown_s: float
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, int] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)

    def cooling(self, model: str) -> bool:
        until = self._until.get(model)
        if until is None:
            return False
        if self.clock() >= until:
            del self._until[model]
            self._failures.pop(model, None)
            return False
        return True

    def success(self, model: str) -> None:
        self._failures.pop(model, None)

    def failure(self, model: str) -> None:
        count = self._failures.get(model, 0) + 1
        self._failures[model] = count
        if count >= self.failures_before_cooldown:
            self._until[model] = self.clock() + self.cooldown_s


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    error: str


@dataclass(frozen=True, slots=True)
class Dispatched:
    """Which model finally answered, after which failed attempts."""

    model: str
    attempts: Sequence[Attempt]


class Dispatcher:
    """Sends a request down an ordered chain of models until one answers."""

    def __init__(
        self,
        upstreams: Mapping[str, Upstream],
        retry: RetryConfig,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tracing: Tracing | None = None,
        operation: str = "chat",
    ):
        self._upstreams = upstreams
        self.tracing: Tracing = tracing or NoTracing()
        self._operation = operation  # gen_ai.operation.name of each attempt's span
        self._retry = retry
        self._sleep = sleep
        self.cooldowns = Cooldowns(retry.failures_before_cooldown, retry.cooldown_s)

    async def complete(
        self, chain: Sequence[str], body: Mapping[str, Any], before: BeforeModel | None = None
    ) -> tuple[dict[str, Any], Dispatched]:
        return await self._run(chain, lambda up: up.complete(body), before)

    async def open_stream(
        self, chain: Sequence[str], body: Mapping[str, Any], before: BeforeModel | None = None
    ) -> tuple[ChunkStream, Dispatched]:
        return await self._run(chain, lambda up: up.open_stream(body), before)

    async def _run(
        self, chain: Sequence[str], send: Callable[[Upstream], Awaitable[T]],
        before: BeforeModel | None = None,
    ) -> tuple[T, Dispatched]:
        attempts: list[Attempt] = []
        last: UpstreamFailure | None = None
        for model in chain:
            upstream = self._upstreams.get(model)
            if upstream is None:
                raise ModelNotFound(f"The model `{model}` has no upstream configured.")
            if self.cooldowns.cooling(model):
                attempts.append(Attempt(model, "cooling down"))
                continue
            if before is not None:
                await before(model)
            try:
                result = await self._with_retries(model, upstream, send, attempts)
            except UpstreamFailure as failure:
                last = failure
                if failure.client_error:
                    raise InvalidRequest(failure.message) from None
                continue
            return result, Dispatched(model, attempts)
        raise _exhausted(last, attempts)

    async def _with_retries(
        self,
        model: str,
        upstream: Upstream,
        send: Callable[[Upstream], Awaitable[T]],
        attempts: list[Attempt],
    ) -> T:
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                with self.tracing.attempt(model, attempt, self._operation):
                    result = await send(upstream)
            except UpstreamFailure as failure:
                attempts.append(Attempt(model, str(failure)))
                if failure.client_error:
                    raise
                self.cooldowns.failure(model)
                if not failure.retryable or attempt == self._retry.max_attempts:
                    raise
                if self.cooldowns.cooling(model):
                    raise
                await self._sleep(self._delay(attempt, failure.retry_after_s))
                continue
            self.cooldowns.success(model)
            return result
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, self._retry.retry_after_cap_s)
        backoff = self._retry.backoff_base_s * (2 ** (attempt - 1))
        # Full jitter keeps replicas from retrying in lockstep.
        return float(random.uniform(0, min(backoff, self._retry.backoff_max_s)))


def _exhausted(last: UpstreamFailure | None, attempts: Sequence[Attempt]) -> GatewayError:
    tried = ", ".join(sorted({a.model for a in attempts})) or "none"
    if last is None:
        return UpstreamUnavailable(f"Every upstream for this request is cooling down ({tried}).")
    if last.timeout:
        return UpstreamTimeout(f"The upstream timed out ({tried}): {last.message}")
    if last.status == 429:
        return RateLimited(
            f"The upstream is rate limiting requests ({tried}): {last.message}",
            retry_after_s=last.retry_after_s or 1.0,
        )
    if last.status == 503:
        return UpstreamUnavailable(f"The upstream is unavailable ({tried}): {last.message}")
    return UpstreamError(f"The upstream failed ({tried}): {last.message}")
