"""Rate limits for one gateway process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gateway.ratelimit.base import Dimension, RateDecision
from gateway.ratelimit.gcra import Step, check
from gateway.tenants.config import RateLimitConfig


class InMemoryRateLimiter:
    """A RateLimiter whose counters live in this process (one replica, or tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tat: dict[tuple[str, Dimension], int] = {}

    async def acquire(self, tenant: str, limits: RateLimitConfig, tokens: int = 0) -> RateDecision:
        """Admits one request of `tokens` tokens if both limits allow; else counts nothing."""
        now = int(self._clock() * 1_000_000)
        wanted: list[tuple[Dimension, int | None, int]] = [
            ("requests", limits.requests_per_minute, 1),
            ("tokens", limits.tokens_per_minute, tokens),
        ]
        with self._lock:
            steps: dict[Dimension, Step] = {}
            for dimension, limit, units in wanted:
                if limit is not None and units > 0:
                    tat = self._tat.get((tenant, dimension), 0)
                    steps[dimension] = check(tat, now, limit, units)
            denied = max(steps.items(), key=lambda item: item[1].wait_us, default=None)
            if denied is not None and denied[1].wait_us > 0:
                return RateDecision(False, denied[1].wait_us / 1_000_000, denied[0])
            for dimension, step in steps.items():
                self._tat[(tenant, dimension)] = step.new_tat
        return RateDecision(
            True,
            remaining_requests=_remaining(steps, "requests"),
            remaining_tokens=_remaining(steps, "tokens"),
        )

    async def close(self) -> None:
        return None


def _remaining(steps: dict[Dimension, Step], dimension: Dimension) -> int | None:
    step = steps.get(dimension)
    return None if step is None else step.remaining
