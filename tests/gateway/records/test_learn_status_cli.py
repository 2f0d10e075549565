"""`costroute learn status`: the records store's counts, and a running gateway's outbox."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from typer.testing import CliRunner

from gateway.records.cli import app
from gateway.records.sqlite import SQLiteRecordStore
from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.records.samples import label, request
from tests.gateway.records.test_feedback_http import answer, learning_tenants, rate
from tests.servers import subprocess_env


def _fill(path: Path) -> None:
    async def run() -> None:
        store = SQLiteRecordStore(path)
        await store.write_requests([request("r1"), request("r2", route="router:cheapest"),
                                    request("r3", prompt=None), request("g1", tenant="globex")])
        await store.write_labels([label("r1", "m-small"), label("r1", "m-large", source="judge"),
                                  label("r2", "m-small", source="judge"),
                                  label("g1", tenant="globex")])
        await store.aclose()

    asyncio.run(run())


def _config(tmp_path: Path, records: dict[str, object]) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump({
        "models": [{"name": "m-small", "upstream": {"base_url": "http://127.0.0.1:9/v1"}}],
        "records": records}))
    return path


def test_status_prints_counts_per_model_route_and_source(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    result = CliRunner().invoke(app, ["status", "--config", str(config), "--tenant", "acme"],
                                terminal_width=120)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "records of acme" in out and "labels per model" in out
    assert "router:cheapest" in out and "judge" in out and "feedback" in out
    data = json.loads(CliRunner().invoke(app, ["status", "--config", str(config), "--tenant",
                                               "acme", "--json"]).output)
    assert (data["requests"], data["captured"]) == (3, 2)
    assert data["labels_by_model"] == {"m-small": 2, "m-large": 1}
    assert data["labels_by_route"] == {"auto": 2, "router:cheapest": 1}
    assert data["labels_by_source"] == {"feedback": 1, "judge": 2}
    everyone = json.loads(CliRunner().invoke(app, ["status", "--config", str(config),
                                                   "--json"]).output)
    assert everyone["requests"] == 4


def test_status_reads_a_running_gateways_outbox(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    gw = gateway_factory(sim_config(sim, records={"kind": "sqlite", "path": str(db)}),
                         learning_tenants())
    request_id, _ = answer(gw)
    assert rate(gw, {"request_id": request_id, "score": 1}).status_code == 200
    deadline = time.monotonic() + 30
    while "costroute_records_outbox_depth 0.0" not in httpx.get(f"{gw.root_url}/metrics").text:
        assert time.monotonic() < deadline, "the outbox did not drain"
        time.sleep(0.05)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    result = CliRunner().invoke(app, ["status", "--config", str(config), "--json",
                                      "--gateway-url", gw.root_url])
    data = json.loads(result.output)
    assert data["requests"] == 1 and data["labels_by_source"] == {"feedback": 1}
    assert data["outbox"]["written"] >= 1 and data["outbox"]["dropped"] == 0


def test_status_explains_a_store_with_nothing_yet(tmp_path: Path) -> None:
    config = _config(tmp_path, {"kind": "sqlite", "path": str(tmp_path / "none.sqlite3")})
    result = CliRunner().invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 2 and "no records yet" in result.output
    off = _config(tmp_path, {"kind": "none"})
    result = CliRunner().invoke(app, ["status", "--config", str(off)])
    assert result.exit_code == 2 and "keeps no records" in result.output


def test_status_is_mounted_on_the_costroute_command(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "learn", "status", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
        env=subprocess_env(COSTROUTE_DATA_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 4  # the embedded default: records.sqlite3
