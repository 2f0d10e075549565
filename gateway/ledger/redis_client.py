"""Redis clients that fail fast, and the one mapping of Redis outages to StoreUnavailable."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions as rex
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from gateway.ledger.base import StoreUnavailable

# Outage-like errors the server sends as replies: a restarting, replica or cluster-less node.
_UNAVAILABLE_REPLIES = (rex.BusyLoadingError, rex.ReadOnlyError, rex.MasterDownError,
                        rex.TryAgainError, rex.ClusterDownError)


def connect_cluster(url: str, *, timeout_s: float = 2.0,
                    max_connections: int = 1024) -> aioredis.RedisCluster:
    """A Redis Cluster client seeded from any node at `url`, with the same fail-fast timeouts.

    Every script the gateway runs names keys of one tenant only, all inside one `{tenant}`
    hash tag, so each runs on the single primary that owns that slot. During a failover the
    client refreshes its slot map and retries (MOVED, connection errors) a few times before
    the error surfaces as StoreUnavailable.

    Unlike the single-node pool, the cluster client does not wait for a free connection: past
    `max_connections` per node it raises a connection error and drops that node's
    connections, failing every command in flight. So the cap is far above any burst a
    replica serves (1,024 per node; Redis accepts 10,000 clients by default).
    """
    return aioredis.RedisCluster.from_url(
        url,
        max_connections=max_connections,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=6),
    )


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


class ClusterWarmUp:
    """Discovers a cluster's slot map once, before the first command of a burst.

    redis-py's cluster client initialises itself lazily on the first command; when hundreds of
    coroutines send their first command at once, they initialise it concurrently and drop each
    other's fresh connections (seen as `None.writelines` mid-handshake). One lock-guarded
    `initialize()` before the first command avoids that; afterwards the check is one bool.
    """

    def __init__(self, client: Any):
        self._client = client
        self._done = not isinstance(client, aioredis.RedisCluster)
        self._lock: asyncio.Lock | None = None

    async def __call__(self) -> None:
        if self._done:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._done:
                await self._client.initialize()
                self._done = True


@asynccontextmanager
async def unavailable_as_store_error(operation: str) -> AsyncIterator[None]:
    """Re-raises Redis outages inside the block as StoreUnavailable naming `operation`."""
    try:
        yield
    except (rex.ConnectionError, rex.TimeoutError, OSError, *_UNAVAILABLE_REPLIES) as exc:
        raise StoreUnavailable(f"Redis is unavailable ({operation}): {exc}") from exc
    except (AttributeError, RuntimeError) as exc:
        # redis-py's cluster client can close a connection's socket while another coroutine is
        # still using it (after a node's error it marks and drops that node's connections):
        # the user then fails on `None.writelines` or uvloop's "handler is closed". It is an
        # outage of that node as far as this operation goes, not a bug of ours.
        if not _raised_inside_redis(exc):
            raise
        raise StoreUnavailable(f"Redis connection lost ({operation}): {exc}") from exc


def _raised_inside_redis(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        if f"{os.sep}redis{os.sep}" in frame.tb_frame.f_code.co_filename:
            return True
        frame = frame.tb_next
    return False


def text(value: bytes | str | int | None) -> str:
    """A reply item as str, whether or not the client decodes responses."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)
