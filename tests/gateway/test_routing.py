"""Resolving `model` per tenant: passthrough chains, aliases, allow-lists, long contexts."""

from __future__ import annotations

import pytest

from gateway.config import parse_config
from gateway.errors import ModelNotFound, PermissionDenied
from gateway.routing import Passthrough, Routed, RouteTable
from gateway.tenants.config import TenantConfig
from routers.simple import CheapestRouter, TableRouter

CONFIG = parse_config({
    "models": [{"name": "a", "upstream": {"base_url": "http://x"}, "fallbacks": ["b"]},
               {"name": "b", "upstream": {"base_url": "http://x"}}],
    "routes": {"auto": {"router": "table"}, "router:cheapest": {"router": "cheapest"},
               "router:long": {"router": "cheapest", "models": ["b"]}},
})
TABLE = RouteTable(CONFIG, {"auto": TableRouter({}), "router:cheapest": CheapestRouter(),
                            "router:long": CheapestRouter()},
                   {"auto": ["a", "b"], "router:cheapest": ["a", "b"], "router:long": ["b"]})


def tenant(**fields: object) -> TenantConfig:
    return TenantConfig.model_validate({"name": "t", **fields})


def test_passthrough_chain_keeps_only_allowed_fallbacks() -> None:
    assert TABLE.resolve("a", tenant()) == Passthrough("a", ["a", "b"])
    assert TABLE.resolve("a", tenant(allowed_models=["a"])) == Passthrough("a", ["a"])


def test_auto_follows_the_tenant_policy_route() -> None:
    target = TABLE.resolve("auto", tenant(policy={"route": "router:cheapest"}))
    assert isinstance(target, Routed) and target.alias == "router:cheapest"


def test_long_prompts_take_the_long_context_route() -> None:
    t = tenant(policy={"long_context_route": "router:long", "long_context_tokens": 100})
    short = TABLE.resolve("auto", t, lambda: 99)
    long = TABLE.resolve("auto", t, lambda: 100)
    assert isinstance(short, Routed) and short.alias == "auto"
    assert isinstance(long, Routed) and long.alias == "router:long"
    named = TABLE.resolve("a", t, lambda: 10_000)  # a named model is never rerouted
    assert isinstance(named, Passthrough)


def test_unknown_and_forbidden_targets() -> None:
    with pytest.raises(ModelNotFound, match=r"^The model `zzz` does not exist\.$"):
        TABLE.resolve("zzz", tenant())
    with pytest.raises(PermissionDenied):
        TABLE.resolve("b", tenant(allowed_models=["a"]))
    with pytest.raises(PermissionDenied):
        TABLE.resolve("router:cheapest", tenant(allowed_routes=["auto"]))


def test_a_route_the_config_leaves_out_answers_with_its_hint() -> None:
    hinted = parse_config({**CONFIG.model_dump(), "route_hints": {"router:x": "turn x on."}})
    table = RouteTable(hinted, {"auto": TableRouter({})}, {"auto": ["a", "b"]})
    with pytest.raises(ModelNotFound, match=r"^The model `router:x` does not exist: turn x on\.$"):
        table.resolve("router:x", tenant())
    with pytest.raises(ModelNotFound, match=r"^The model `router:y` does not exist\.$"):
        table.resolve("router:y", tenant())
