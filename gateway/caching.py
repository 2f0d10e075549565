"""The completion cache in the pipeline: answer a repeat for free, remember new answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.budget import BudgetGate
from gateway.cache.base import CacheHit, DescribedCache
from gateway.cache.exact import ExactCache
from gateway.cache.layered import LayeredCache
from gateway.cache.memory import MemoryCacheStore
from gateway.cache.redis_store import RedisCacheStore
from gateway.cache.replies import cached_reply
from gateway.cache.semantic import SemanticCache, SemanticRules
from gateway.config import CacheConfig
from gateway.context import RequestContext
from gateway.ledger.base import SpendRecord
from gateway.metrics import GatewayMetrics
from gateway.tenants.config import TenantConfig
from pricing import Estimator, Usage, cost_usd


def semantic_rules(tenant: TenantConfig | None) -> SemanticRules:
    if tenant is None:
        return SemanticRules()
    c = tenant.cache
    return SemanticRules(enabled=c.semantic, threshold=c.semantic_threshold,
                         allow_multi_turn=c.semantic_multi_turn,
                         allow_sampling=c.semantic_sampling)


def build_completion_cache(config: CacheConfig,
                           tenant_lookup: Callable[[str], TenantConfig | None],
                           redis_client: Any = None) -> DescribedCache | None:
    """The exact cache in the configured store (Redis when the gateway uses Redis, so every
    replica shares it), plus the in-process semantic layer if configured; None when off."""
    if not config.enabled:
        return None
    store: Any = (RedisCacheStore(redis_client) if redis_client is not None
                  else MemoryCacheStore(config.max_entries))
    layers: list[DescribedCache] = [ExactCache(store, config.ttl_s, config.cache_sampled)]
    if config.semantic:
        from routers.embedding import default_embedder

        # Tenants opt in from tenants.yaml; a reload applies to the next lookup.
        layers.append(SemanticCache(default_embedder(),
                                    lambda name: semantic_rules(tenant_lookup(name)),
                                    config.semantic_ttl_s))
    return LayeredCache(layers)


class CacheGate:
    """Looks a request up before it is planned, and stores successful answers after."""

    def __init__(self, cache: DescribedCache, budget: BudgetGate, metrics: GatewayMetrics,
                 estimator: Estimator):
        self.cache = cache
        self.budget = budget
        self.metrics = metrics
        self.estimator = estimator

    async def answer(self, ctx: RequestContext, body: Mapping[str, Any]) -> tuple[dict[str, Any], CacheHit] | None:
        hit = await self.cache.find(ctx.tenant.name, body)
        if hit is None:
            self.metrics.cache.labels("miss").inc()
            return None
        self.metrics.cache.labels(f"hit_{hit.kind}").inc()
        response = cached_reply(hit.response, ctx.request_id)
        model = str(response.get("model", ""))
        ctx.route = f"cache:{hit.kind}"
        # A hit costs nothing, and is recorded as such so spend reports count it.
        hold = await self.budget.reserve(ctx.tenant, ctx.request_id, 0.0)
        usage = Usage.from_openai(response.get("usage") or {})
        await self.budget.settle(hold, 0.0, SpendRecord(
            tenant=ctx.tenant.name, request_id=ctx.request_id, model=model, route=ctx.route,
            cost_usd=0.0, prompt_tokens=0, completion_tokens=0, cache_hit=True))
        price = self.estimator.catalog.get(model)
        if price is not None:
            self.metrics.cache_saved.labels(model).inc(cost_usd(price, usage))
        ctx.log.update(model=model, cost_usd=0.0, cache=hit.kind)
        return response, hit

    async def remember(self, ctx: RequestContext, body: Mapping[str, Any],
                       response: Mapping[str, Any]) -> None:
        await self.cache.store(ctx.tenant.name, body, response)
