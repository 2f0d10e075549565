"""Several caches tried in order (exact first, then semantic); answers stored in all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.cache.base import CacheHit, DescribedCache


class LayeredCache:
    """The first hit of `layers`, in order; `store` writes to every layer.

    A hit in a later layer is also stored in the earlier ones, so the same request is
    answered by the exact cache next time, without embedding it again.
    """

    kind = "layered"

    def __init__(self, layers: Sequence[DescribedCache]):
        if not layers:
            raise ValueError("a layered cache needs at least one layer")
        self.layers = list(layers)

    async def find(self, tenant: str, body: Mapping[str, Any]) -> CacheHit | None:
        for i, layer in enumerate(self.layers):
            hit = await layer.find(tenant, body)
            if hit is not None:
                for earlier in self.layers[:i]:
                    await earlier.store(tenant, body, hit.response)
                return hit
        return None

    async def lookup(self, tenant: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        hit = await self.find(tenant, body)
        return None if hit is None else hit.response

    async def store(
        self, tenant: str, body: Mapping[str, Any], response: Mapping[str, Any]
    ) -> None:
        for layer in self.layers:
            await layer.store(tenant, body, response)
