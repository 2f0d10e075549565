"""Gateway fixtures: the bundled simulator and gateways served over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.config import parse_config
from gateway.server import ServeOptions, make_app
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.server import SimulatorHandle, run_simulator
from gateway.tenants.config import TenantConfig, hash_key
from tests.servers import serve_asgi

TEST_KEY = "cr-test-key-tenant-a"
OTHER_KEY = "cr-test-key-tenant-b"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with run_simulator(SimulatorConfig(latency_scale=0)) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _clean_simulator(request: pytest.FixtureRequest) -> None:
    if "sim" in request.fixturenames:
        handle: SimulatorHandle = request.getfixturevalue("sim")
        handle.control.reset()


@dataclass
class RunningGateway:
    base_url: str  # ends in /v1
    key: str
    root_url: str


def sim_config(sim: SimulatorHandle, **overrides: Any) -> dict[str, Any]:
    """A gateway config whose models are the simulator's, with fast test retries."""
    config: dict[str, Any] = {
        "models": [
            {"name": "gpt-4o-mini", "upstream": {"base_url": sim.base_url}, "quality": 0.82,
             "fallbacks": ["gpt-4o"]},
            {"name": "gpt-4o", "upstream": {"base_url": sim.base_url}, "quality": 0.89},
            {"name": "mistralai/Mixtral-8x7B-Instruct-v0.1",
             "upstream": {"base_url": sim.base_url}, "quality": 0.68},
        ],
        "routes": {"auto": {"router": "table"}, "router:cheapest": {"router": "cheapest"}},
        "retry": {"max_attempts": 2, "backoff_base_s": 0.01, "backoff_max_s": 0.05,
                  "retry_after_cap_s": 0.2, "failures_before_cooldown": 100},
    }
    config.update(overrides)
    return config


def default_tenants() -> list[TenantConfig]:
    return [
        TenantConfig(name="tenant-a", key_sha256=[hash_key(TEST_KEY)]),
        TenantConfig(name="tenant-b", key_sha256=[hash_key(OTHER_KEY)],
                     allowed_models=["gpt-4o-mini"], allowed_routes=["router:cheapest"]),
    ]


GatewayFactory = Callable[..., RunningGateway]


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Starts gateways over loopback; each gets its own spend log under tmp_path."""
    with ExitStack() as stack:
        def start(config: dict[str, Any], tenants: list[TenantConfig] | None = None,
                  **serve: Any) -> RunningGateway:
            config = dict(config)
            store = dict(config.get("store") or {})
            if store.get("kind", "memory") == "memory" and "path" not in store:
                store["path"] = str(tmp_path / f"spend-{len(stack._exit_callbacks)}.jsonl")
            config["store"] = store
            # Records, if a tenant captures or a client rates, stay in the test's own folder.
            config.setdefault("records", {"kind": "sqlite", "path": str(
                tmp_path / f"records-{len(stack._exit_callbacks)}.sqlite3")})
            options = ServeOptions(parse_config(config), tenants or default_tenants(), **serve)
            root = stack.enter_context(serve_asgi(make_app(options)))
            return RunningGateway(f"{root}/v1", TEST_KEY, root)

        yield start


@pytest.fixture
def gateway(sim: SimulatorHandle, gateway_factory: GatewayFactory) -> RunningGateway:
    return gateway_factory(sim_config(sim))
