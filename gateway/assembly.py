"""Wiring a `Gateway` (everything a running app holds) from a `GatewayConfig`."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.auth import Authenticator, authenticate
from gateway.budget import BudgetGate
from gateway.caching import CacheGate, build_completion_cache
from gateway.config import CacheConfig, GatewayConfig, ModelEntry
from gateway.content_log import ContentLogger
from gateway.errors import AuthenticationFailed
from gateway.learning.budget import LearningBudget
from gateway.learning.calls import LearningCaller
from gateway.learning.explore import Explorer
from gateway.learning.loop import LearningLoop
from gateway.learning.metrics import LearningMetrics
from gateway.learning.online import OnlineUpdater
from gateway.ledger.base import SpendStore
from gateway.metrics import GatewayMetrics
from gateway.records.base import RecordSink, RecordStore
from gateway.records.factory import open_records
from gateway.records.spend_drainer import SpendDrainer
from gateway.routing import RouteTable
from gateway.serving import ChatService
from gateway.tenants.config import TenantConfig
from gateway.tracing import NoTracing, Tracing, build_tracing
from gateway.upstream.anthropic import AnthropicUpstream
from gateway.upstream.base import Upstream
from gateway.upstream.dispatch import Dispatcher
from gateway.upstream.http import HttpUpstream
from gateway.upstream.pool import ConnectionPool
from pricing import CatalogError, Estimator, PriceCatalog, TokenizerRegistry
from routers.base import Orchestrator, Router
from routers.registry import build_router

# The route label of a request refused before it had one: its key was missing or wrong.
UNAUTHENTICATED = "unauthenticated"


@dataclass
class Gateway:
    """Everything one app instance holds; lives on `app.state.gateway`."""

    config: GatewayConfig
    catalog: PriceCatalog
    routes: RouteTable
    service: ChatService
    tenants: Authenticator
    budget: BudgetGate
    metrics: GatewayMetrics
    # httpx's API over the upstreams' aiohttp pool, for code that calls other servers.
    http: httpx.AsyncClient
    store: SpendStore | None = None
    cache: CacheGate | None = None
    content_log: ContentLogger = field(default_factory=ContentLogger)
    # The learning loop's records: `records` is the non-blocking sink (an outbox in front of
    # `record_store`); None keeps nothing.
    record_store: RecordStore | None = None
    records: RecordSink | None = None
    # Copies settled spend into `record_store` (gateway/records/spend_drainer.py); the spend
    # API reads the database when it is set, the ledger's log otherwise.
    spend_drainer: SpendDrainer | None = None
    learning: LearningLoop | None = None  # shadow labels and online update (gateway/learning)
    tracing: Tracing = field(default_factory=NoTracing)
    # The upstreams' aiohttp connections (`http` sends through them too).
    pool: ConnectionPool = field(default_factory=ConnectionPool)
    on_close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def authenticate(self, authorization: str | None,
                     api_key_header: str | None) -> TenantConfig:
        """The caller's tenant (gateway.auth.authenticate); a refused key is counted as an
        error of no route, so a key rotation's or a prober's 401s show on /metrics."""
        try:
            return authenticate(self.tenants, authorization, api_key_header)
        except AuthenticationFailed as exc:
            self.metrics.errors.labels(UNAUTHENTICATED, str(exc.code)).inc()
            raise

    async def aclose(self) -> None:
        for hook in reversed(self.on_close):
            await hook()
        await self.http.aclose()
        await self.budget.aclose()


def build_catalog(config: GatewayConfig, tokenizers: TokenizerRegistry) -> PriceCatalog:
    """The shipped catalog, then gateway.yaml's `pricing:` overrides, then per-model prices."""
    catalog = PriceCatalog.shipped().with_overrides(config.pricing)
    per_model: dict[str, dict[str, Any]] = {}
    for entry in config.models:
        fields: dict[str, Any] = dict(entry.price or {})
        if entry.tokenizer:
            fields["tokenizer"] = entry.tokenizer
        if fields or entry.name not in catalog:
            per_model[entry.name] = fields
    if per_model:
        try:
            catalog = catalog.with_overrides(per_model)
        except CatalogError as exc:
            raise CatalogError(f"{exc} (a model without a catalog entry needs `price:`)")
    for entry in config.models:
        tokenizer = catalog[entry.name].tokenizer
        if not tokenizers.known(tokenizer):
            raise CatalogError(f"model {entry.name!r}: unknown tokenizer {tokenizer!r}")
    return catalog


def build_upstreams(config: GatewayConfig, pool: ConnectionPool) -> dict[str, Upstream]:
    upstreams: dict[str, Upstream] = {}
    for entry in config.models:
        upstreams[entry.name] = _upstream(entry, pool)
    return upstreams


def provider_secrets(config: GatewayConfig) -> list[str]:
    """The provider keys this gateway holds, so content logs can cut them out by value."""
    names = {m.upstream.api_key_env for m in config.models if m.upstream.api_key_env}
    return [value for name in sorted(names) if (value := os.environ.get(name))]


def _upstream(entry: ModelEntry, pool: ConnectionPool) -> Upstream:
    up = entry.upstream
    api_key = os.environ.get(up.api_key_env) if up.api_key_env else None
    kind = AnthropicUpstream if up.api == "anthropic" else HttpUpstream
    return kind(
        entry.name, pool, up.base_url, api_key=api_key,
        upstream_model=up.model or entry.name, connect_s=up.timeout.connect_s,
        first_byte_s=up.timeout.first_byte_s, total_s=up.timeout.total_s,
    )


def build_routes(config: GatewayConfig, catalog: PriceCatalog | None = None) -> RouteTable:
    quality = {m.name: m.quality for m in config.models if m.quality is not None}
    routers: dict[str, Router | Orchestrator] = {}
    pools: dict[str, list[str]] = {}
    for alias, route in config.routes.items():
        routers[alias] = build_router(alias, route.router, model=route.model,
                                      artifact=route.artifact, options=route.options,
                                      quality=quality)
        # A route's default pool is every chat model: embedding models answer /v1/embeddings.
        pools[alias] = list(route.models or [m.name for m in config.models if catalog is None
                                             or catalog[m.name].mode == "chat"])
    return RouteTable(config, routers, pools)


def build_gateway(
    config: GatewayConfig,
    tenants: Authenticator,
    budget: BudgetGate,
    *,
    upstreams: dict[str, Upstream] | None = None,
    tokenizers: TokenizerRegistry | None = None,
    records_dir: Path | None = None,
) -> Gateway:
    tokenizers = tokenizers or TokenizerRegistry()
    catalog = build_catalog(config, tokenizers)
    pool = ConnectionPool()
    http = pool.httpx_client()
    metrics = GatewayMetrics()
    routes = build_routes(config, catalog)
    tracing = build_tracing(config.tracing, {m.name: catalog[m.name].provider
                                             for m in config.models}, provider_secrets(config))
    upstreams = upstreams or build_upstreams(config, pool)
    dispatcher = Dispatcher(upstreams, config.retry, tracing=tracing)
    estimator = Estimator(catalog, tokenizers)
    # Language ID model, premium table and tokenizers load now, not on the first request.
    estimator.warm_up([m.name for m in config.models])
    service = ChatService(routes, estimator, dispatcher, budget, metrics)
    gateway = Gateway(config, catalog, routes, service, tenants, budget, metrics, http,
                      content_log=ContentLogger(provider_secrets(config)), tracing=tracing,
                      pool=pool)
    gateway.on_close.append(tracing.aclose)
    gateway.on_close.append(pool.aclose)
    redis_client = None
    if config.cache.enabled and config.store.kind == "redis" and config.store.url:
        from gateway.ledger.redis_client import connect, connect_cluster

        redis_client = (connect_cluster(config.store.url) if config.store.cluster
                        else connect(config.store.url))
        gateway.on_close.append(redis_client.aclose)
    attach_learning(gateway, upstreams, provider_secrets(config))
    completion_cache = build_completion_cache(config.cache, getattr(tenants, "get", _no_tenant),
                                              redis_client)
    if completion_cache is not None:
        gateway.cache = CacheGate(completion_cache, budget, metrics, estimator)
    _warn_of_unserved_cache_opt_ins(config.cache, getattr(tenants, "tenants", ()))
    gateway.record_store, outbox = open_records(config.records, metrics.registry, records_dir)
    if gateway.record_store is not None and outbox is not None:
        gateway.records = outbox
        gateway.on_close.append(gateway.record_store.aclose)
        gateway.on_close.append(outbox.aclose)  # hooks run in reverse: drain, then close
    return gateway


def _warn_of_unserved_cache_opt_ins(cache: CacheConfig,
                                    tenants: Sequence[TenantConfig]) -> None:
    """A tenant's `cache: {semantic: true}` does nothing on a gateway without the semantic
    layer: say so at start-up, rather than leave its owner wondering why nothing ever hits."""
    if cache.enabled and cache.semantic:
        return
    names = [t.name for t in tenants if t.cache.semantic]
    if names:
        logging.getLogger("costroute.server").warning(
            "tenant(s) %s opt into the semantic cache, but this gateway has none; serve with "
            "`cache: {enabled: true, semantic: true}` in gateway.yaml to answer them from it",
            ", ".join(names))


def _no_tenant(name: str) -> None:
    return None


def attach_learning(gateway: Gateway, upstreams: Mapping[str, Upstream],
                    secrets: Sequence[str] = (), *, concurrency: int = 2,
                    queue_size: int = 64, seed: int | None = None) -> LearningLoop:
    """Builds the loop on `gateway` (its store and records sink are read at call time)."""
    metrics = LearningMetrics(gateway.metrics.registry)
    budget = LearningBudget(lambda: gateway.store,
                            hold_ttl_s=gateway.config.store.reservation_ttl_s)

    def records():  # type: ignore[no-untyped-def]
        return gateway.records

    def pool(route: str) -> Sequence[str]:
        return gateway.routes.pool(route)

    def redact(tenant: TenantConfig, text: str) -> str:
        return loop.redact(tenant, text)

    loop = LearningLoop(LearningCaller(upstreams, gateway.service.estimator, budget, metrics,
                                       records, redact),
                        metrics, records, pool, secrets=secrets, concurrency=concurrency,
                        queue_size=queue_size, seed=seed)
    loop.subscribe(OnlineUpdater(gateway.routes.router, metrics))
    gateway.service.explorer = Explorer(metrics, seed)
    gateway.learning = loop
    gateway.on_close.append(loop.aclose)
    return loop
