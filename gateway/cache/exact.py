"""The exact completion cache: the same normalised request gets the same response back."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.cache.base import CacheHit, CacheStore
from gateway.cache.keys import exact_key, temperature

log = logging.getLogger("costroute.cache")

DEFAULT_TTL_S = 3600.0


class ExactCache:
    """Responses by `exact_key(tenant, body)` in a `CacheStore`, for `ttl_s` seconds.

    With `cache_sampled=False`, requests sampling at temperature > 0 are neither looked up
    nor stored (their answers are meant to vary). A store error is a miss, never a failure.
    """

    kind = "exact"

    def __init__(self, store: CacheStore, ttl_s: float = DEFAULT_TTL_S, cache_sampled: bool = True):
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        self.backend = store
        self.ttl_s = ttl_s
        self.cache_sampled = cache_sampled

    def _eligible(self, body: Mapping[str, Any]) -> bool:
        return self.cache_sampled or temperature(body) == 0

    async def find(self, tenant: str, body: Mapping[str, Any]) -> CacheHit | None:
        if not self._eligible(body):
            return None
        try:
            raw = await self.backend.get(exact_key(tenant, body))
        except Exception as exc:  # noqa: BLE001 - any store outage is a miss
            log.warning("exact cache lookup failed, treating as a miss: %s", exc)
            return None
        if raw is None:
            return None
        return CacheHit(orjson.loads(raw), "exact")

    async def lookup(self, tenant: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        hit = await self.find(tenant, body)
        return None if hit is None else hit.response

    async def store(
        self, tenant: str, body: Mapping[str, Any], response: Mapping[str, Any]
    ) -> None:
        if not self._eligible(body) or not response.get("choices"):
            return
        try:
            await self.backend.set(
                exact_key(tenant, body), orjson.dumps(dict(response)), self.ttl_s
            )
        except Exception as exc:  # noqa: BLE001 - a cache that cannot write is just colder
            log.warning("exact cache store failed: %s", exc)
