"""Budgets are never overspent through races: one process, and two processes on one Redis."""

from __future__ import annotations

import asyncio
import math
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulator.process import start_simulator_process
from gateway.tenants.config import hash_key
from pricing import Estimator, PriceCatalog, TokenizerRegistry
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.servers import RedisServer

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Give me one fun fact about octopuses."}]
MAX_TOKENS = 16
KEY = "cr-budget-test-key"
REQUESTS = 500


def worst_case_cost() -> float:
    estimator = Estimator(PriceCatalog.shipped(), TokenizerRegistry())
    return estimator.estimate(MODEL, MESSAGES, MAX_TOKENS).max_cost_usd


async def fire(base_urls: list[str], count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        async def one(i: int) -> httpx.Response:
            url = base_urls[i % len(base_urls)]
            return await client.post(
                f"{url}/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                json={"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS})
        return await asyncio.gather(*(one(i) for i in range(count)))


def check_outcome(responses: list[httpx.Response], budget: float, per_request: float,
                  ledger_total: float) -> int:
    admitted = [r for r in responses if r.status_code == 200]
    rejected = [r for r in responses if r.status_code != 200]
    for r in rejected:
        assert r.status_code == 429, r.text
        error = r.json()["error"]
        assert error["type"] == "insufficient_quota" and error["code"] == "budget_exceeded"
        assert "reset" in error["message"].lower()
    returned = sum(float(r.headers["x-costroute-cost-usd"]) for r in admitted)
    assert ledger_total <= budget + 1e-9, "overspent"
    # The header prints 8 decimals; the ledger counts nano-dollars.
    tolerance = 1e-8 * max(len(admitted), 1)
    assert ledger_total == pytest.approx(returned, abs=tolerance), "ledger != costs returned"
    # Every request whose worst case fitted was admitted: at least floor(budget / worst case).
    assert len(admitted) >= math.floor(budget / per_request)
    assert rejected, "the budget should not cover all requests"
    return len(admitted)


def no_fallback_config(sim: Any, **overrides: Any) -> dict[str, Any]:
    # Without a fallback every admitted request is a gpt-4o-mini call, so the admitted count
    # has a floor (a fallback would top its hold up to gpt-4o's worst case).
    config = sim_config(sim, **overrides)
    config["models"][0]["fallbacks"] = []
    # 500 requests at once open ~500 new upstream connections; on a starved 2-core runner
    # (gateway, simulator and client in one process) the 5 s default connect timeout was seen
    # to expire. Budgets are what this file tests, not connect timeouts.
    config["models"][0]["upstream"]["timeout"] = {"connect_s": 60.0}
    return config


def tenant(budget: float) -> dict[str, Any]:
    return {"name": "racer", "key_sha256": [hash_key(KEY)],
            "budgets": [{"period": "month", "limit_usd": budget}]}


def test_in_process_store_one_gateway(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    from gateway.tenants.config import TenantConfig

    per_request = worst_case_cost()
    budget = round(per_request * 100, 8)
    gw = gateway_factory(no_fallback_config(sim), tenants=[TenantConfig.model_validate(tenant(budget))])
    responses = asyncio.run(fire([gw.base_url], REQUESTS))
    report = httpx.get(f"{gw.base_url}/costroute/spend", timeout=30,
                       headers={"authorization": f"Bearer {KEY}"}).json()
    check_outcome(responses, budget, per_request, report["total"]["cost_usd"])


@pytest.mark.redis
def test_two_gateway_processes_share_one_redis_budget(tmp_path: Path,
                                                      redis_server: RedisServer) -> None:
    per_request = worst_case_cost()
    budget = round(per_request * 100, 8)
    with ExitStack() as stack:
        sim = stack.enter_context(start_simulator_process())
        tenants = write_tenants(tmp_path / "tenants.yaml", [tenant(budget)])
        config = no_fallback_config(sim, tenants_file=str(tenants),
                            store={"kind": "redis", "url": redis_server.url})
        config_path = write_gateway_config(tmp_path / "gateway.yaml", config)
        import redis

        redis.Redis.from_url(redis_server.url).flushdb()
        gateways = [GatewayProcess(config_path, tmp_path).start() for _ in range(2)]
        for g in gateways:
            stack.callback(g.stop)
        responses = asyncio.run(fire([g.base_url for g in gateways], REQUESTS))
        report = httpx.get(f"{gateways[0].base_url}/costroute/spend", timeout=30,
                           headers={"authorization": f"Bearer {KEY}"}).json()
        admitted = check_outcome(responses, budget, per_request, report["total"]["cost_usd"])
        assert report["total"]["requests"] == admitted


@pytest.mark.redis
def test_two_gateway_processes_share_one_budget_on_a_redis_cluster(tmp_path: Path) -> None:
    from tests.redis_cluster import RedisCluster

    per_request = worst_case_cost()
    budget = round(per_request * 100, 8)
    with ExitStack() as stack:
        cluster = RedisCluster(tmp_path / "cluster")
        cluster.start()
        stack.callback(cluster.stop)
        sim = stack.enter_context(start_simulator_process())
        tenants = write_tenants(tmp_path / "tenants.yaml", [
            {**tenant(budget), "rate_limits": {"requests_per_minute": 100_000}}])
        config = no_fallback_config(sim, tenants_file=str(tenants),
                                    store={"kind": "redis", "url": cluster.url, "cluster": True})
        config_path = write_gateway_config(tmp_path / "gateway.yaml", config)
        gateways = [GatewayProcess(config_path, tmp_path).start() for _ in range(2)]
        for g in gateways:
            stack.callback(g.stop)
        responses = asyncio.run(fire([g.base_url for g in gateways], REQUESTS))
        report = httpx.get(f"{gateways[0].base_url}/costroute/spend", timeout=30,
                           headers={"authorization": f"Bearer {KEY}"}).json()
        admitted = check_outcome(responses, budget, per_request, report["total"]["cost_usd"])
        assert report["total"]["requests"] == admitted
