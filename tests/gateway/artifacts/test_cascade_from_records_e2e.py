"""The loop end to end: traffic through a real gateway with learning on (shadow answers and
the simulated judge, the simulator answering as a routing dataset's models), the outbox
writing to a real SQLite records store, `costroute train cascade --from-records`, then
`router promote`: the gateway serves the trained cascade."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from gateway.artifacts.train import MIN_HELD_OUT_PROMPTS
from gateway.records.sqlite import SQLiteRecordStore
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.simulator.routing_data import write_simulation
from gateway.simulator.server import run_simulator
from gateway.tenants.config import TenantConfig, hash_key
from routers.cascade.artifact import load_artifact
from routers.datasets.records import is_held_out
from routers.versions.registry import ArtifactRegistry
from tests.gateway.conftest import GatewayFactory
from tests.routers.cascade.synthetic import ACCURACY, MODELS, arithmetic_dataset

KEY = "cr-test-key-cascade-records"
ROUTE = "router:cascade"
N = 40


def tenant() -> TenantConfig:
    return TenantConfig.model_validate({"name": "acme", "key_sha256": [hash_key(KEY)], "learning": {
        "capture": True, "shadow_rate": 1.0, "judge": {"model": SIMULATED_JUDGE},
        "budget": {"period": "day", "limit_usd": 50.0}}})


def gateway_config(sim_url: str, prices: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    up = {"base_url": sim_url}
    models = [{"name": m, "upstream": up, "price": prices[m], "quality": ACCURACY[m]}
              for m in MODELS]
    models.append({"name": SIMULATED_JUDGE, "upstream": up, "price": prices[SIMULATED_JUDGE]})
    return {"models": models,
            "routes": {ROUTE: {"router": "table", "models": list(MODELS)}},
            "records": {"kind": "sqlite", "path": str(tmp_path / "records.sqlite3")},
            "artifacts": {"dir": str(tmp_path / "registry"), "poll_s": 0.1},
            "retry": {"max_attempts": 1, "failures_before_cooldown": 100}}


def ask(base_url: str, prompt: str) -> httpx.Response:
    r = httpx.post(f"{base_url}/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                   json={"model": ROUTE, "messages": [{"role": "user", "content": prompt}]},
                   timeout=30)
    assert r.status_code == 200, r.text
    return r


def request_ids(path: Path) -> list[str]:
    """The request ids of the labelled prompts in the store."""
    async def read() -> list[str]:
        store = SQLiteRecordStore(path)
        try:
            return [o.request_id for o in await store.outcomes("acme")]
        finally:
            await store.aclose()

    return asyncio.run(read())


def stored(path: Path) -> tuple[int, int, int]:
    """(captured prompts with a label of every model, labels, answers) in the store now."""
    async def read() -> tuple[int, int, int]:
        store = SQLiteRecordStore(path)
        try:
            outcomes = await store.outcomes("acme")
            answers = await store.answers("acme")
        finally:
            await store.aclose()
        full = sum(len(o.scores) == len(MODELS) for o in outcomes)
        return full, sum(len(o.scores) for o in outcomes), len(answers)

    return asyncio.run(read())


@pytest.mark.slow
def test_traffic_trains_a_cascade_that_the_gateway_then_serves(
        tmp_path: Path, gateway_factory: GatewayFactory) -> None:
    from gateway.artifacts.cli import app as router_app
    from routers.cli import app as train_app

    ds = arithmetic_dataset(N, seed=11)
    models_path, recordings_path, prices = write_simulation(ds, tmp_path / "sim")
    sim_config = SimulatorConfig(latency_scale=0, models_path=models_path,
                                 recordings_path=recordings_path)
    with run_simulator(sim_config) as sim:
        config = gateway_config(sim.base_url, prices, tmp_path)
        config_path = tmp_path / "gateway.yaml"
        config_path.write_text(yaml.safe_dump(config))
        gw = gateway_factory(config, [tenant()])
        for prompt in ds.prompts:
            assert "x-costroute-stages" not in ask(gw.base_url, prompt).headers  # a table
        db = Path(config["records"]["path"])
        deadline = time.monotonic() + 120
        while stored(db)[0] < N:  # shadow answers, judge grades and the outbox settle
            assert time.monotonic() < deadline, f"labelled so far: {stored(db)}"
            time.sleep(0.2)
        full, labels, answers = stored(db)
        assert (full, labels) == (N, N * len(MODELS)) and answers == N * len(MODELS)

        runner = CliRunner()
        trained = runner.invoke(train_app, [
            "cascade", "--from-records", "--tenant", "acme", "--route", ROUTE,
            "--config", str(config_path), "--embedder", "hashing", "--scorer", "fast",
            "--no-compare-frugalgpt"])
        assert trained.exit_code == 0, trained.output
        registry = ArtifactRegistry(tmp_path / "registry")
        (version,) = registry.versions()
        block = registry.manifest(version)["version"]
        data = block["data"]
        assert version == "v0001-cascade" and block["parent"] is None and block["route"] == ROUTE
        # The request ids are random, so the held-out slice's size is too; one under
        # MIN_HELD_OUT_PROMPTS is not evaluated, and its prompts stay out of training either way.
        held = sum(is_held_out(rid) for rid in request_ids(db))
        assert data["n_prompts"] == N - held and data["held_out"]["n_prompts"] == held
        assert data["held_out"]["evaluated"] == (held >= MIN_HELD_OUT_PROMPTS)
        assert data["models"] == sorted(MODELS) and data["n_labels"] == 3 * data["n_prompts"]
        assert data["answers"] == {"usable": 3 * N, "redacted_skipped": 0, "not_recorded": 0}
        if data["held_out"]["n_replayable"] >= 5:
            assert {"artifact", "task_lookup", "best_single_model"} <= set(block["metrics"])
        artifact = load_artifact(registry.path(version))
        assert artifact.strategy.models and set(artifact.strategy.models) <= set(MODELS)

        promoted = runner.invoke(router_app, ["promote", version, "--route", ROUTE,
                                              "--config", str(config_path)])
        assert promoted.exit_code == 0, promoted.output
        deadline = time.monotonic() + 30
        while "x-costroute-stages" not in (r := ask(gw.base_url, ds.prompts[0])).headers:
            assert time.monotonic() < deadline, "the gateway did not swap to the cascade"
            time.sleep(0.1)
        assert r.json()["choices"][0]["message"]["content"]
        assert int(r.headers["x-costroute-stages"]) >= 1
