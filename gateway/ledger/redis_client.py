"""Redis clients that fail fast, and the one mapping of Redis outages to StoreUnavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import redis.exceptions as rex
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from gateway.ledger.base import StoreUnavailable

# Outage-like errors the server sends as replies: a restarting, replica or cluster-less node.
_UNAVAILABLE_REPLIES = (rex.BusyLoadingError, rex.ReadOnlyError, rex.MasterDownError,
                        rex.TryAgainError, rex.ClusterDownError)


def connect(url: str, *, timeout_s: float = 2.0, max_connections: int = 64,
            pool_timeout_s: float = 10.0) -> aioredis.Redis:
    """A client for `url` that waits for a free connection and fails fast when Redis is down.

    The pool blocks (up to `pool_timeout_s`) instead of refusing when all connections are
    busy, so a burst of concurrent requests queues rather than failing; `timeout_s` bounds
    connecting to and hearing back from Redis, which is what an outage trips. One quick retry instead of
    redis-py's ten: a budget check that hangs for seconds is worse than a prompt 503 (or
    fail-open), and every script we send is idempotent, so retrying it once is safe.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1),
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)


@asynccontextmanager
async def unavailable_as_store_error(operation: str) -> AsyncIterator[None]:
    """Re-raises Redis outages inside the block as StoreUnavailable naming `operation`."""
    try:
        yield
    except (rex.ConnectionError, rex.TimeoutError, OSError, *_UNAVAILABLE_REPLIES) as exc:
        raise StoreUnavailable(f"Redis is unavailable ({operation}): {exc}") from exc


def text(value: bytes | str | int | None) -> str:
    """A reply item as str, whether or not the client decodes responses."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)
