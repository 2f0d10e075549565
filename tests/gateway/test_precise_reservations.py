"""A request holds the worst case of the model it calls; a fallback tops the hold up first."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai

from gateway.defaults import DEMO_TENANT, default_config, demo_tenant
from gateway.tenants.config import TenantConfig, hash_key
from pricing import Estimator, PriceCatalog, TokenizerRegistry
from tests.gateway.conftest import GatewayFactory, sim_config

KEY = "cr-precise-hold-key"
MESSAGES = [{"role": "user", "content": "Name one prime number."}]
MAX_TOKENS = 64


def worst_case(model: str, max_tokens: int | None = MAX_TOKENS) -> float:
    estimator = Estimator(PriceCatalog.shipped(), TokenizerRegistry())
    return estimator.estimate(model, MESSAGES, max_tokens).max_cost_usd


def tenant(limit_usd: float, **extra: Any) -> TenantConfig:
    return TenantConfig.model_validate({
        "name": "precise", "key_sha256": [hash_key(KEY)],
        "budgets": [{"period": "month", "limit_usd": limit_usd}], **extra})


def post(base_url: str) -> httpx.Response:
    return httpx.post(f"{base_url}/chat/completions", timeout=60,
                      headers={"authorization": f"Bearer {KEY}"},
                      json={"model": "gpt-4o-mini", "messages": MESSAGES,
                            "max_tokens": MAX_TOKENS})


def spent(base_url: str) -> float:
    report = httpx.get(f"{base_url}/costroute/spend", timeout=30,
                       headers={"authorization": f"Bearer {KEY}"}).json()
    return float(report["total"]["cost_usd"])


def test_a_budget_that_fits_the_cheap_model_only_is_enough_without_a_fallback(
        sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    # gpt-4o-mini falls back to gpt-4o; the hold used to be gpt-4o's worst case.
    mini, big = worst_case("gpt-4o-mini"), worst_case("gpt-4o")
    assert big > 5 * mini
    gw = gateway_factory(sim_config(sim), tenants=[tenant(mini * 1.5)])
    r = post(gw.base_url)
    assert r.status_code == 200, r.text
    assert r.headers["x-costroute-model"] == "gpt-4o-mini"


def test_a_fallback_that_does_not_fit_is_refused_naming_model_and_amount(
        sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    mini = worst_case("gpt-4o-mini")
    gw = gateway_factory(sim_config(sim), tenants=[tenant(mini * 1.5)])
    sim.control.inject_fault("gpt-4o-mini", "http_500", count=10)
    r = post(gw.base_url)
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert "`gpt-4o`" in error["message"] and "$" in error["message"]
    assert sim.control.requests("gpt-4o") == 0, "the refused fallback must not be called"
    assert spent(gw.base_url) == 0.0


def test_a_fallback_that_fits_is_topped_up_and_settled_on_its_own_cost(
        sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    big = worst_case("gpt-4o")
    gw = gateway_factory(sim_config(sim), tenants=[tenant(big * 1.2)])
    sim.control.inject_fault("gpt-4o-mini", "http_500", count=10)
    r = post(gw.base_url)
    assert r.status_code == 200, r.text
    assert r.headers["x-costroute-model"] == "gpt-4o"
    assert spent(gw.base_url) == float(r.headers["x-costroute-cost-usd"])


def test_a_fallback_above_the_per_request_limit_is_refused(
        sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    mini, big = worst_case("gpt-4o-mini"), worst_case("gpt-4o")
    gw = gateway_factory(sim_config(sim), tenants=[
        tenant(10.0, max_cost_per_request_usd=(mini + big) / 2)])
    sim.control.inject_fault("gpt-4o-mini", "http_500", count=10)
    r = post(gw.base_url)
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "request_cost_limit"
    assert "`gpt-4o`" in r.json()["error"]["message"]


def test_concurrent_fallbacks_never_overspend(
        sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    big = worst_case("gpt-4o")
    budget = round(big * 10, 8)
    gw = gateway_factory(sim_config(sim), tenants=[tenant(budget)])
    sim.control.inject_fault("gpt-4o-mini", "http_500", count=10_000)

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120,
                                     limits=httpx.Limits(max_connections=60)) as client:
            return await asyncio.gather(*(client.post(
                f"{gw.base_url}/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                json={"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": MAX_TOKENS})
                for _ in range(60)))

    responses = asyncio.run(fire())
    admitted = [r for r in responses if r.status_code == 200]
    assert all(r.status_code in (200, 429) for r in responses)
    assert all(r.headers["x-costroute-model"] == "gpt-4o" for r in admitted)
    assert len(admitted) >= 10
    total = spent(gw.base_url)
    assert total <= budget + 1e-9, "overspent"
    returned = sum(float(r.headers["x-costroute-cost-usd"]) for r in admitted)
    assert abs(total - returned) <= 1e-8 * len(admitted)


def test_fifty_concurrent_demo_requests_without_max_tokens_all_succeed(
        gateway_factory: GatewayFactory) -> None:
    from gateway.simulator.process import start_simulator_process

    key = "cr-demo-precise-holds"
    with start_simulator_process() as sim:
        gw = gateway_factory(default_config(sim.base_url), tenants=[demo_tenant(key)])

        async def fire() -> list[Any]:
            client = openai.AsyncOpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
            try:
                return await asyncio.gather(*(client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"Hi #{i}"}])
                    for i in range(50)), return_exceptions=True)
            finally:
                await client.close()

        results = asyncio.run(fire())
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    assert DEMO_TENANT == "demo"
