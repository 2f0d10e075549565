"""The completion cache inside the gateway: a repeat is answered for free and counted."""

from __future__ import annotations

import httpx

from tests.gateway.conftest import GatewayFactory, sim_config

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def test_exact_repeat_costs_nothing_and_is_counted(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_factory(sim_config(sim, cache={"enabled": True}))
    headers = {"authorization": f"Bearer {gw.key}"}
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0}
    first = httpx.post(f"{gw.base_url}/chat/completions", json=body, headers=headers, timeout=60)
    again = httpx.post(f"{gw.base_url}/chat/completions", json=body, headers=headers, timeout=60)
    assert float(first.headers["x-costroute-cost-usd"]) > 0
    assert float(again.headers["x-costroute-cost-usd"]) == 0
    assert again.headers["x-costroute-route"].startswith("cache:exact")
    assert again.json()["choices"] == first.json()["choices"]
    assert sim.control.requests("gpt-4o-mini") == 1
    report = httpx.get(f"{gw.base_url}/costroute/spend", headers=headers, timeout=30).json()
    assert report["cache_hits"] == 1 and report["total"]["requests"] == 2
    metrics = httpx.get(f"{gw.root_url}/metrics", timeout=30).text
    assert 'costroute_cache_lookups_total{result="hit_exact"} 1.0' in metrics


def test_sampled_requests_are_not_cached_by_default(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_factory(sim_config(sim, cache={"enabled": True}))
    headers = {"authorization": f"Bearer {gw.key}"}
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.8}
    for _ in range(2):
        httpx.post(f"{gw.base_url}/chat/completions", json=body, headers=headers, timeout=60)
    assert sim.control.requests("gpt-4o-mini") == 2


def test_tenants_do_not_share_cached_answers(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    from tests.gateway.conftest import OTHER_KEY

    gw = gateway_factory(sim_config(sim, cache={"enabled": True}))
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0}
    httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=60,
               headers={"authorization": f"Bearer {gw.key}"})
    other = httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=60,
                       headers={"authorization": f"Bearer {OTHER_KEY}"})
    assert float(other.headers["x-costroute-cost-usd"]) > 0


def test_exact_cache_lives_in_redis_when_the_gateway_uses_redis(  # type: ignore[no-untyped-def]
        sim, gateway_factory: GatewayFactory, redis_server) -> None:
    config = sim_config(sim, cache={"enabled": True},
                        store={"kind": "redis", "url": redis_server.url})
    first, second = gateway_factory(config), gateway_factory(config)  # two replicas
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Shared cache?"}],
            "temperature": 0}
    headers = {"authorization": f"Bearer {first.key}"}
    httpx.post(f"{first.base_url}/chat/completions", json=body, headers=headers, timeout=60)
    hit = httpx.post(f"{second.base_url}/chat/completions", json=body, headers=headers,
                     timeout=60)
    assert hit.headers["x-costroute-route"].startswith("cache:exact")
