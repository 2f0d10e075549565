"""The rate limiter interface: may this tenant send one more request of this many tokens?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from gateway.tenants.config import RateLimitConfig

PERIOD_S = 60  # limits are per minute
Dimension = Literal["requests", "tokens"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether a request may go now; if not, after how many seconds and which limit bit."""

    allowed: bool
    retry_after_s: float = 0.0
    limited_by: Dimension | None = None
    remaining_requests: int | None = None  # after this request; None when unlimited
    remaining_tokens: int | None = None

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise RateLimitExceeded(self)


class RateLimitExceeded(Exception):
    """HTTP 429 `rate_limit_exceeded`, with a `retry-after` of `retry_after_s` seconds."""

    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, decision: RateDecision):
        self.decision = decision
        self.retry_after_s = decision.retry_after_s
        what = "requests" if decision.limited_by == "requests" else "tokens"
        self.message = (
            f"Rate limit reached for {what} per minute. "
            f"Try again in {decision.retry_after_s:.1f}s."
        )
        super().__init__(self.message)


@runtime_checkable
class RateLimiter(Protocol):
    """Admits a request against both per-minute limits at once, or says when to retry."""

    async def acquire(self, tenant: str, limits: RateLimitConfig, tokens: int = 0) -> RateDecision:
        """Counts one request of `tokens` tokens if both limits allow it; else counts nothing."""
        ...

    async def close(self) -> None: ...
