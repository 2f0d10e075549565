"""Budget faults with real processes: a killed gateway, a restarted Redis, isolation, reloads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.ledger.redis_store import RedisSpendStore
from gateway.simulator.process import start_simulator_process
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import TenantConfig, hash_key
from gateway.tenants.periods import budget_window
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.servers import RedisServer, free_port

MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"  # no fallbacks: reservations are its own
MESSAGES = [{"role": "user", "content": "Summarise the plot of Hamlet in one line."}]
KEY_A, KEY_B = "cr-tenant-a-key-000001", "cr-tenant-b-key-000002"


def tenant(name: str, key: str, limit: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "key_sha256": [hash_key(key)],
            "budgets": [{"period": "month", "limit_usd": limit}], **extra}


def ask(base_url: str, key: str, timeout: float = 60, **body: Any) -> httpx.Response:
    return httpx.post(f"{base_url}/chat/completions", timeout=timeout,
                      headers={"authorization": f"Bearer {key}"},
                      json={"model": MODEL, "messages": MESSAGES, "max_tokens": 32, **body})


def spend(base_url: str, key: str, **params: str) -> httpx.Response:
    return httpx.get(f"{base_url}/costroute/spend", params=params, timeout=30,
                     headers={"authorization": f"Bearer {key}"})


@pytest.fixture
def sim_process() -> Iterator[SimulatorHandle]:
    with start_simulator_process() as handle:
        yield handle


def redis_gateway(tmp_path: Path, sim: SimulatorHandle, redis_url: str,
                  tenants: list[dict[str, Any]], **store: Any) -> Path:
    tenants_path = write_tenants(tmp_path / "tenants.yaml", tenants)
    config = sim_config(sim, tenants_file=str(tenants_path),
                        store={"kind": "redis", "url": redis_url, **store})
    return write_gateway_config(tmp_path / "gateway.yaml", config)


def held_usd(redis_url: str, name: str) -> float:
    async def read() -> float:
        store = RedisSpendStore.from_url(redis_url)
        try:
            cfg = TenantConfig.model_validate(tenant(name, KEY_A))
            window = budget_window(cfg.budgets[0], cfg.zone(), __import__("datetime").datetime.now(
                __import__("datetime").UTC))
            (state,) = await store.state(name, [window])
            return state.reserved_usd
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.mark.redis
def test_killed_gateway_reservation_expires(tmp_path: Path, sim_process: SimulatorHandle) -> None:
    with ExitStack() as stack:
        redis = RedisServer(tmp_path / "redis")
        redis.start()
        stack.callback(redis.stop)
        config = redis_gateway(tmp_path, sim_process, redis.url, [tenant("a", KEY_A)],
                               reservation_ttl_s=6)
        gw = GatewayProcess(config, tmp_path).start()
        stack.callback(gw.stop)
        sim_process.control.inject_fault(MODEL, "slow", count=1, delay_s=20)
        with pytest.raises(httpx.ReadTimeout):
            ask(gw.base_url, KEY_A, timeout=1.5)  # in flight, holding its reservation
        assert held_usd(redis.url, "a") > 0
        gw.kill()  # SIGKILL: no settle, no release
        time.sleep(6.5)
        assert held_usd(redis.url, "a") == 0


@pytest.mark.redis
def test_redis_restart_gives_503_then_recovers(tmp_path: Path,
                                               sim_process: SimulatorHandle) -> None:
    port = free_port()
    with ExitStack() as stack:
        redis = RedisServer(tmp_path / "redis", port=port)
        redis.start()
        stack.callback(redis.stop)
        config = redis_gateway(tmp_path, sim_process, redis.url, [tenant("a", KEY_A)])
        gw = GatewayProcess(config, tmp_path).start()
        stack.callback(gw.stop)
        assert ask(gw.base_url, KEY_A).status_code == 200
        redis.kill()
        down = ask(gw.base_url, KEY_A)
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "budget_store_unavailable"
        redis = RedisServer(tmp_path / "redis", port=port)
        redis.start()
        stack.callback(redis.stop)
        deadline = time.monotonic() + 20
        while (r := ask(gw.base_url, KEY_A)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert r.status_code == 200, r.text


@pytest.mark.redis
def test_started_without_its_redis_says_so_and_is_not_ready(
        tmp_path: Path, sim_process: SimulatorHandle) -> None:
    """Alive (/healthz) but not ready (/readyz 503) while no metered request can pass, a
    start-up warning naming the store; ready once Redis is up, with no restart."""
    port = free_port()
    with ExitStack() as stack:
        config = redis_gateway(tmp_path, sim_process, f"redis://127.0.0.1:{port}/0",
                               [tenant("a", KEY_A)])
        gw = GatewayProcess(config, tmp_path).start()
        stack.callback(gw.stop)
        root = gw.base_url.removesuffix("/v1")
        assert httpx.get(f"{root}/healthz", timeout=30).status_code == 200
        not_ready = httpx.get(f"{root}/readyz", timeout=30)
        assert not_ready.status_code == 503
        assert not_ready.json()["status"] == "unavailable"
        assert "Redis is unavailable" in not_ready.json()["budget_store"]
        assert ask(gw.base_url, KEY_A).status_code == 503
        log = gw.log_path.read_text()
        assert "budget store (redis): unavailable, metered requests answer 503" in log
        redis = RedisServer(tmp_path / "redis", port=port)
        redis.start()
        stack.callback(redis.stop)
        deadline = time.monotonic() + 20
        while ((ready := httpx.get(f"{root}/readyz", timeout=30)).status_code != 200
               and time.monotonic() < deadline):
            time.sleep(0.5)
        assert ready.json() == {"status": "ready", "budget_store": "ok"}
        assert ask(gw.base_url, KEY_A).status_code == 200


@pytest.mark.redis
def test_fail_open_admits_while_redis_is_down(tmp_path: Path,
                                              sim_process: SimulatorHandle) -> None:
    with ExitStack() as stack:
        redis = RedisServer(tmp_path / "redis")
        redis.start()
        stack.callback(redis.stop)
        config = redis_gateway(tmp_path, sim_process, redis.url, [tenant("a", KEY_A)],
                               fail_open=True)
        gw = GatewayProcess(config, tmp_path).start()
        stack.callback(gw.stop)
        redis.kill()
        assert ask(gw.base_url, KEY_A).status_code == 200
        ready = httpx.get(f"{gw.base_url.removesuffix('/v1')}/readyz", timeout=30)
        assert ready.status_code == 200
        assert ready.json()["budget_store"].startswith(
            "unavailable, serving without budgets (fail_open)")


def test_tenants_are_isolated(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    tenants = [TenantConfig.model_validate(tenant("a", KEY_A, limit=1.0)),
               TenantConfig.model_validate(tenant("b", KEY_B, limit=1e-7)),
               TenantConfig.model_validate({**tenant("root", "cr-admin-key-00000003"),
                                            "admin": True})]
    gw = gateway_factory(sim_config(sim), tenants=tenants)
    assert ask(gw.base_url, KEY_A).status_code == 200
    refused = ask(gw.base_url, KEY_B)  # B's tiny budget is not topped up by A's
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_exceeded"
    own = spend(gw.base_url, KEY_B).json()
    assert own["tenant"] == "b" and own["total"]["requests"] == 0
    forbidden = spend(gw.base_url, KEY_B, tenant="a")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "admin_required"
    everyone = spend(gw.base_url, "cr-admin-key-00000003", tenant="*").json()
    assert everyone["total"]["requests"] == 1


def test_spend_survives_a_gateway_restart(sim, gateway_factory: GatewayFactory,  # type: ignore[no-untyped-def]
                                          tmp_path: Path) -> None:
    tenants = [TenantConfig.model_validate(tenant("a", KEY_A))]
    config = sim_config(sim, store={"kind": "memory", "path": str(tmp_path / "spend.jsonl")})
    first = gateway_factory(config, tenants=tenants)
    costs = [float(ask(first.base_url, KEY_A).headers["x-costroute-cost-usd"]) for _ in range(3)]
    second = gateway_factory(config, tenants=tenants)  # a new process reading the same log
    report = spend(second.base_url, KEY_A).json()
    assert report["total"]["requests"] == 3
    assert report["total"]["cost_usd"] == pytest.approx(sum(costs), abs=1e-7)


def test_changed_budget_is_reloaded_under_load(sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tenants_path = write_tenants(tmp_path / "tenants.yaml", [tenant("a", KEY_A, limit=10.0)])
    config = sim_config(sim, tenants_file=str(tenants_path),
                        store={"kind": "memory", "path": str(tmp_path / "spend.jsonl")})
    from gateway.config import parse_config
    from gateway.server import ServeOptions, make_app
    from tests.servers import serve_asgi

    app = make_app(ServeOptions(parse_config(config), watch_interval_s=0.2))
    with serve_asgi(app) as root:
        base = f"{root}/v1"

        async def load(seconds: float) -> list[int]:
            statuses: list[int] = []
            async with httpx.AsyncClient(timeout=60) as client:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    batch = await asyncio.gather(*(client.post(
                        f"{base}/chat/completions", headers={"authorization": f"Bearer {KEY_A}"},
                        json={"model": MODEL, "messages": MESSAGES, "max_tokens": 32})
                        for _ in range(8)))
                    statuses += [r.status_code for r in batch]
            return statuses

        async def scenario() -> tuple[list[int], list[int]]:
            before = await load(1.0)
            write_tenants(tenants_path, [tenant("a", KEY_A, limit=1e-7)])  # broke, by edit
            await asyncio.sleep(1.0)
            after = await load(1.0)
            return before, after

        before, after = asyncio.run(scenario())
    assert set(before) == {200}
    assert after and set(after[-8:]) == {429}, after
    assert all(code in (200, 429) for code in after)


def test_broken_tenants_edit_keeps_last_good_config(sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tenants_path = write_tenants(tmp_path / "tenants.yaml", [tenant("a", KEY_A)])
    config = sim_config(sim, tenants_file=str(tenants_path),
                        store={"kind": "memory", "path": str(tmp_path / "spend.jsonl")})
    from gateway.config import parse_config
    from gateway.server import ServeOptions, make_app
    from tests.servers import serve_asgi

    app = make_app(ServeOptions(parse_config(config), watch_interval_s=0.2))
    with serve_asgi(app) as root:
        tenants_path.write_text("tenants:\n  - name: a\n    budgets: [{period: fortnight}]\n")
        time.sleep(1.0)
        assert ask(f"{root}/v1", KEY_A).status_code == 200
