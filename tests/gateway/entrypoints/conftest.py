"""A gateway with chat and embedding models on the simulator, and a tenant with no budget."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import BudgetConfig, TenantConfig, hash_key
from tests.gateway.conftest import (
    TEST_KEY,
    GatewayFactory,
    RunningGateway,
    default_tenants,
    sim_config,
)

BROKE_KEY = "cr-test-key-broke-tenant"


def api_config(sim: SimulatorHandle, **overrides: Any) -> dict[str, Any]:
    config = sim_config(sim, **overrides)
    config["models"] = [*config["models"],
                        {"name": "text-embedding-3-small", "upstream": {"base_url": sim.base_url}},
                        {"name": "text-embedding-3-large", "upstream": {"base_url": sim.base_url}},
                        {"name": "gpt-4-1106-preview", "upstream": {"base_url": sim.base_url}}]
    # Two text-only models: no vision, no JSON schema; Mixtral has a 32k window.
    config["routes"] = {**config["routes"], "router:cheapest": {
        "router": "cheapest", "models": ["gpt-4o-mini", "gpt-4o",
                                         "mistralai/Mixtral-8x7B-Instruct-v0.1"]},
        "router:mixed": {"router": "cheapest", "models": [
            "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4o"]},
        "router:text": {"router": "cheapest", "models": [
            "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"]}}
    return config


def api_tenants() -> list[TenantConfig]:
    return [*default_tenants(),
            TenantConfig(name="broke", key_sha256=[hash_key(BROKE_KEY)],
                         budgets=[BudgetConfig(period="day", limit_usd=1e-12)])]


@pytest.fixture
def api(sim: SimulatorHandle, gateway_factory: GatewayFactory) -> RunningGateway:
    gw = gateway_factory(api_config(sim), api_tenants())
    assert gw.key == TEST_KEY
    return gw
