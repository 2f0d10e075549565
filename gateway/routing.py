"""Resolving the request's `model` field to a passthrough chain or a router, per tenant."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gateway.config import GatewayConfig
from gateway.errors import ModelNotFound, PermissionDenied
from gateway.tenants.config import TenantConfig
from routers.base import Orchestrator, Router

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Passthrough:
    model: str
    chain: Sequence[str]  # the model, then its fallbacks, filtered to what the tenant may use


@dataclass(frozen=True, slots=True)
class Routed:
    alias: str
    router: Router | Orchestrator
    pool: Sequence[str]  # candidate models the tenant may use


Target = Passthrough | Routed


class RouteTable:
    """Knows every model and route alias; resolves a request's `model` for one tenant."""

    def __init__(
        self,
        config: GatewayConfig,
        routers: Mapping[str, Router | Orchestrator],
        pools: Mapping[str, Sequence[str]],
    ):
        self._models = {m.name: m for m in config.models}
        self._hints = dict(config.route_hints)
        self._routers = dict(routers)
        self._pools = dict(pools)

    @property
    def model_names(self) -> list[str]:
        return list(self._models)

    def offered(self, tenant: TenantConfig) -> list[str]:
        """The model names, then the route aliases, that `tenant` may ask for (what
        `/v1/models` lists): exactly those a chat request would resolve, not the whole table."""
        return [name for name in [*self._models, *self._routers] if self.offers(name, tenant)]

    def offers(self, name: str, tenant: TenantConfig) -> bool:
        try:
            self._resolve(name, tenant)
        except (ModelNotFound, PermissionDenied):
            return False
        return True

    def check(self, name: str, tenant: TenantConfig) -> None:
        """Raises what a chat request for `name` would: ModelNotFound (with the route's hint)
        or PermissionDenied."""
        self._resolve(name, tenant)

    def pool(self, alias: str) -> list[str]:
        """The candidate models of a route alias (every tenant's); [] for none."""
        return list(self._pools.get(alias, ()))

    def tier(self, model: str) -> str:
        return self._models[model].tier

    def router(self, alias: str) -> Router | Orchestrator | None:
        return self._routers.get(alias)

    def replace_router(self, alias: str, router: Router | Orchestrator) -> None:
        """Serve `router` on `alias` from the next request on (artifact promote/rollback).

        The table is swapped whole, never edited in place: a request that already resolved
        keeps the router it got and finishes on it.
        """
        if alias not in self._routers:
            raise KeyError(f"no route {alias!r}")
        self._routers = {**self._routers, alias: router}

    def resolve(self, requested: str, tenant: TenantConfig,
                prompt_tokens: Callable[[], int] | None = None) -> Target:
        """`prompt_tokens` is asked only when the tenant has a long-context route for `auto`."""
        policy = tenant.policy
        if (requested == AUTO and policy.long_context_route and prompt_tokens is not None
                and policy.long_context_route in self._routers
                and prompt_tokens() >= policy.long_context_tokens):
            requested = policy.long_context_route
        return self._resolve(requested, tenant)

    def _resolve(self, requested: str, tenant: TenantConfig) -> Target:
        entry = self._models.get(requested)
        if entry is not None:
            if not tenant.may_use_model(requested):
                raise PermissionDenied(
                    f"Your key may not use the model `{requested}`.", param="model",
                    code="model_not_allowed")
            chain = [requested] + [f for f in entry.fallbacks if tenant.may_use_model(f)]
            return Passthrough(requested, chain)
        alias = tenant.policy.route if requested == AUTO else requested
        router = self._routers.get(alias)
        if router is None:
            if requested == AUTO and AUTO in self._routers:
                alias, router = AUTO, self._routers[AUTO]
            else:
                hint = self._hints.get(requested)
                raise ModelNotFound(
                    f"The model `{requested}` does not exist" + (f": {hint}" if hint else "."),
                    param="model")
        if not tenant.may_use_route(alias):
            raise PermissionDenied(
                f"Your key may not use the route `{alias}`.", param="model",
                code="route_not_allowed")
        pool = [m for m in self._pools[alias] if tenant.may_use_model(m)]
        if not pool:
            raise PermissionDenied(
                f"Your key may use none of the models behind `{alias}`.", param="model",
                code="model_not_allowed")
        return Routed(alias, router, pool)
