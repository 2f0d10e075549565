"""Cache settings and the one function that builds the configured cache from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.cache.base import DescribedCache
from gateway.cache.exact import DEFAULT_TTL_S, ExactCache
from gateway.cache.layered import LayeredCache
from gateway.cache.memory import DEFAULT_MAX_ENTRIES, MemoryCacheStore
from gateway.cache.redis_store import DEFAULT_PREFIX, RedisCacheStore
from gateway.cache.semantic import DEFAULT_MAX_ENTRIES_PER_TENANT, SemanticCache, SemanticRules
from routers.embedding import Embedder


@dataclass(frozen=True)
class CacheSettings:
    """Gateway-wide cache settings; per-tenant semantic opt-in comes from `semantic_rules`."""

    enabled: bool = True
    store: Literal["memory", "redis"] = "memory"
    ttl_s: float = DEFAULT_TTL_S
    max_entries: int = DEFAULT_MAX_ENTRIES  # memory store only
    redis_prefix: str = DEFAULT_PREFIX
    cache_sampled: bool = True  # exact cache also for temperature > 0
    semantic: bool = False  # build the semantic layer at all (tenants still opt in)
    semantic_ttl_s: float = DEFAULT_TTL_S
    semantic_max_entries_per_tenant: int = DEFAULT_MAX_ENTRIES_PER_TENANT
    semantic_rules: Mapping[str, SemanticRules] = field(default_factory=dict)
    default_semantic_rules: SemanticRules = field(default_factory=SemanticRules)


def build_cache(
    settings: CacheSettings,
    redis_client: Any = None,
    embedder: Embedder | None = None,
) -> LayeredCache | None:
    """The exact cache (and semantic layer if configured), or None when caching is off.

    `redis_client` (redis.asyncio) is needed for `store="redis"`; `embedder` defaults to the
    process-wide MiniLM embedder, loaded on first semantic lookup.
    """
    if not settings.enabled:
        return None
    if settings.store == "redis":
        if redis_client is None:
            raise ValueError("cache store 'redis' needs a Redis client")
        backend: Any = RedisCacheStore(redis_client, settings.redis_prefix)
    else:
        backend = MemoryCacheStore(settings.max_entries)
    layers: list[DescribedCache] = [ExactCache(backend, settings.ttl_s, settings.cache_sampled)]
    if settings.semantic:
        if embedder is None:
            from routers.embedding import default_embedder

            embedder = default_embedder()
        rules = dict(settings.semantic_rules)
        default = settings.default_semantic_rules
        layers.append(
            SemanticCache(
                embedder,
                lambda tenant: rules.get(tenant, default),
                settings.semantic_ttl_s,
                settings.semantic_max_entries_per_tenant,
            )
        )
    return LayeredCache(layers)
