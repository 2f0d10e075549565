"""Builds the configured SpendStore (and a rate limiter on the same backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from gateway.ledger.base import SpendStore
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.redis_store import RedisSpendStore
from gateway.ratelimit.base import RateLimiter
from gateway.ratelimit.memory import InMemoryRateLimiter
from gateway.ratelimit.redis_limiter import RedisRateLimiter


def open_store(kind: Literal["memory", "redis"], *, path: str | Path | None = None,
               url: str | None = None, prefix: str = "costroute",
               cluster: bool = False) -> SpendStore:
    """The embedded store (spend log at `path`, if any) or a Redis store at `url`."""
    if kind == "memory":
        return InMemorySpendStore(path)
    if kind == "redis":
        if not url:
            raise ValueError("a redis store needs `url` (redis://host:port/db)")
        return RedisSpendStore.from_url(url, prefix=prefix, cluster=cluster)
    raise ValueError(f"unknown store kind {kind!r}")


def open_rate_limiter(kind: Literal["memory", "redis"], *, url: str | None = None,
                      prefix: str = "costroute", cluster: bool = False) -> RateLimiter:
    """Rate limits in this process, or shared by every replica through Redis at `url`."""
    if kind == "redis":
        if not url:
            raise ValueError("a redis rate limiter needs `url`")
        return RedisRateLimiter.from_url(url, prefix=prefix, cluster=cluster)
    return InMemoryRateLimiter()
