"""Real processes for fault tests: the simulator, Redis, and gateways sharing that Redis.

Every scenario gets its own tenant (and key), so the spend each one records can be read
back on its own from the shared ledger.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from gateway.ledger.redis_store import RedisSpendStore
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import TenantConfig, hash_key
from gateway.tenants.periods import budget_window
from tests.gateway.conftest import sim_config
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.servers import RedisServer

MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"  # no fallbacks: what fails, fails visibly
FALLBACK_MODEL = "gpt-4o-mini"  # falls back to gpt-4o
# Short upstream timeouts, so that a request the upstream stalls ends well inside the
# client's own timeout: a client that gave up would never see the cost it was charged.
FIRST_BYTE_S = 1.5
TOTAL_S = 3.0
MAX_ATTEMPTS = 2
# No request may take longer than every attempt timing out, plus slack for a starved CPU;
# a hung one would run into the client's 30 s timeout instead.
REQUEST_CEILING_S = MAX_ATTEMPTS * TOTAL_S + 10.0
RESERVATION_TTL_S = 20.0


def tenant_key(name: str) -> str:
    return f"cr-hardening-{name}-key"


def tenant_entry(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "key_sha256": [hash_key(tenant_key(name))],
            "budgets": [{"period": "month", "limit_usd": 1000.0}], **extra}


def gateway_config(sim: SimulatorHandle, tenants_path: Path, redis_url: str) -> dict[str, Any]:
    config = sim_config(sim, tenants_file=str(tenants_path),
                        store={"kind": "redis", "url": redis_url,
                               "reservation_ttl_s": RESERVATION_TTL_S})
    for model in config["models"]:
        model["upstream"]["timeout"] = {"connect_s": 2.0, "first_byte_s": FIRST_BYTE_S,
                                        "total_s": TOTAL_S}
    config["retry"]["max_attempts"] = MAX_ATTEMPTS
    config["server"] = {"drain_timeout_s": 20}
    return config


@dataclass
class Stack:
    """A simulator, a Redis and one gateway process over them; more gateways on demand."""

    workdir: Path
    sim: SimulatorHandle
    redis: RedisServer
    tenants_path: Path
    config_path: Path
    gateway: GatewayProcess

    @classmethod
    def start(cls, workdir: Path, sim: SimulatorHandle, tenants: list[str]) -> Stack:
        redis = RedisServer(workdir / "redis")
        redis.start()
        tenants_path = write_tenants(workdir / "tenants.yaml",
                                     [tenant_entry(name) for name in tenants])
        config = gateway_config(sim, tenants_path, redis.url)
        config_path = write_gateway_config(workdir / "gateway.yaml", config)
        try:
            gateway = GatewayProcess(config_path, workdir).start()
        except BaseException:
            redis.stop()
            raise
        return cls(workdir, sim, redis, tenants_path, config_path, gateway)

    def another_gateway(self) -> GatewayProcess:
        return GatewayProcess(self.config_path, self.workdir).start()

    def restart_redis(self) -> None:
        """Starts Redis again on the same port and directory (its AOF is replayed)."""
        self.redis = RedisServer(self.workdir / "redis", port=self.redis.port)
        self.redis.start()

    def stop(self) -> None:
        self.gateway.stop()
        self.redis.stop()


def recorded_spend(base_url: str, key: str) -> dict[str, Any]:
    """`total` of the caller's own spend report (GET /v1/costroute/spend)."""
    response = httpx.get(f"{base_url}/costroute/spend", timeout=30,
                         headers={"authorization": f"Bearer {key}"})
    response.raise_for_status()
    total: dict[str, Any] = response.json()["total"]
    return total


def held_usd(redis_url: str, name: str) -> float:
    """What tenant `name` has reserved and not yet settled or released, right now."""

    async def read() -> float:
        store = RedisSpendStore.from_url(redis_url)
        try:
            config = TenantConfig.model_validate(tenant_entry(name))
            window = budget_window(config.budgets[0], config.zone(), datetime.now(UTC))
            (state,) = await store.state(name, [window])
            return state.reserved_usd
        finally:
            await store.close()

    return asyncio.run(read())
