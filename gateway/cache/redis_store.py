"""A `CacheStore` in Redis: one string key per entry, expiring by Redis's own TTL.

The client is the gateway's (`gateway.ledger.redis_client.connect`), so a cache shares the
ledger's connection pool and fail-fast timeouts. Redis errors propagate; `ExactCache`
turns them into misses.
"""

from __future__ import annotations

from typing import Any

DEFAULT_PREFIX = "costroute:cache:"


class RedisCacheStore:
    """Bytes by key under `prefix`, each with a millisecond TTL (SET ... PX)."""

    def __init__(self, client: Any, prefix: str = DEFAULT_PREFIX):
        self.client = client
        self.prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(self.prefix + key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode("utf-8")

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self.client.set(self.prefix + key, value, px=max(1, int(ttl_s * 1000)))
