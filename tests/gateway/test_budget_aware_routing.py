"""As a tenant's budget runs out, `auto` is handed a tighter knob and picks cheaper models."""

from __future__ import annotations

import httpx

from gateway.tenants.config import TenantConfig, hash_key
from tests.gateway.conftest import GatewayFactory, sim_config

KEY = "cr-pacing-tenant-key-01"
MESSAGES = [{"role": "user", "content": "Explain photosynthesis to a child."}]


def test_auto_gets_cheaper_as_a_total_budget_drains(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    tenant = TenantConfig.model_validate({
        "name": "pacer", "key_sha256": [hash_key(KEY)],
        "budgets": [{"period": "total", "limit_usd": 0.02}],
        "policy": {"route": "auto", "objective": "max_utility", "knob": 0.0},
        "pacing": {"kind": "linear", "tight_knob": 1000.0},
    })
    gw = gateway_factory(sim_config(sim), tenants=[tenant])
    headers = {"authorization": f"Bearer {KEY}"}

    def ask(model: str) -> httpx.Response:
        return httpx.post(f"{gw.base_url}/chat/completions", headers=headers, timeout=60,
                          json={"model": model, "messages": MESSAGES, "max_tokens": 400})

    fresh = ask("auto")
    assert fresh.headers["x-costroute-model"] == "gpt-4o"  # knob 0: quality wins
    spent = 0.0
    while spent < 0.6 * 0.02:
        r = ask("gpt-4o")
        assert r.status_code == 200, r.text
        spent = httpx.get(f"{gw.base_url}/costroute/spend", headers=headers,
                          timeout=30).json()["total"]["cost_usd"]
    drained = ask("auto")
    assert drained.status_code == 200
    assert drained.headers["x-costroute-model"] != "gpt-4o"
    assert "max_utility" in drained.headers["x-costroute-route"]


def test_routed_request_downgrades_then_hard_stops(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    from pricing import Estimator, PriceCatalog, TokenizerRegistry

    estimator = Estimator(PriceCatalog.shipped(), TokenizerRegistry())
    worst = {m: estimator.estimate(m, MESSAGES, 400).max_cost_usd
             for m in ("gpt-4o", "gpt-4o-mini")}
    # Room for gpt-4o-mini's worst case but not gpt-4o's.
    limit = round((worst["gpt-4o-mini"] + worst["gpt-4o"]) / 2, 9)
    tenant = TenantConfig.model_validate({
        "name": "tight", "key_sha256": [hash_key(KEY)],
        "budgets": [{"period": "day", "limit_usd": limit}],
        "policy": {"route": "auto", "objective": "max_utility", "knob": 0.0}})
    config = sim_config(sim)
    config["routes"]["auto"] = {"router": "table", "models": ["gpt-4o", "gpt-4o-mini"]}
    gw = gateway_factory(config, tenants=[tenant])
    headers = {"authorization": f"Bearer {KEY}"}
    r = httpx.post(f"{gw.base_url}/chat/completions", headers=headers, timeout=60,
                   json={"model": "auto", "messages": MESSAGES, "max_tokens": 400})
    assert r.status_code == 200, r.text
    assert r.headers["x-costroute-model"] == "gpt-4o-mini"
    assert "downgraded" in r.headers["x-costroute-route"]
    while r.status_code == 200:
        r = httpx.post(f"{gw.base_url}/chat/completions", headers=headers, timeout=60,
                       json={"model": "auto", "messages": MESSAGES, "max_tokens": 400})
    error = r.json()["error"]
    assert r.status_code == 429
    assert (error["type"], error["code"]) == ("insufficient_quota", "budget_exceeded")
    assert "reset" in error["message"].lower()
