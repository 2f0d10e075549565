"""`costroute learn status`: the records store's counts, and a running gateway's outbox."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
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
    outbox = data["outbox"]  # machine-readable: snake_case keys, whole counts
    assert set(outbox) == {"depth", "written", "dropped", "failed_writes"}
    assert all(type(value) is int for value in outbox.values())
    assert outbox["written"] >= 1 and outbox["dropped"] == outbox["depth"] == 0
    table = CliRunner().invoke(app, ["status", "--config", str(config), "--gateway-url",
                                     gw.root_url], terminal_width=120).output
    assert "failed writes (retried)" in table and "outbox depth" in table


def test_status_explains_a_store_with_nothing_yet(tmp_path: Path) -> None:
    config = _config(tmp_path, {"kind": "sqlite", "path": str(tmp_path / "none.sqlite3")})
    result = CliRunner().invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 2 and "no records yet" in result.output
    off = _config(tmp_path, {"kind": "none"})
    result = CliRunner().invoke(app, ["status", "--config", str(off)])
    assert result.exit_code == 2 and "keeps no records" in result.output


def test_an_unknown_tenant_is_said_to_be_unknown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    monkeypatch.delenv("COSTROUTE_TENANTS_FILE", raising=False)
    monkeypatch.delenv("COSTROUTE_TENANTS", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./tenants.yaml: the tenants are not known
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    result = CliRunner().invoke(app, ["status", "--config", str(config), "--tenant", "nosuch",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["requests"] == 0
    assert "no records of tenant 'nosuch'" in result.stderr
    # With the gateway's tenants file known, a name it lacks (and with no records) is an error.
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text("tenants:\n  - name: acme\n  - name: globex\n")
    named = tmp_path / "named.yaml"
    named.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()),
                                     "tenants_file": str(tenants)}))
    result = CliRunner().invoke(app, ["status", "--config", str(named), "--tenant", "nosuch"])
    assert result.exit_code == 2
    assert f"error: no tenant 'nosuch' in {tenants} (its tenants: acme, globex)" in result.stderr
    assert "records of" not in result.stdout  # no tables of zeros
    # A tenant the file knows, with no records yet: a note, and its (empty) counts.
    tenants.write_text("tenants:\n  - name: acme\n  - name: nosuch\n")
    result = CliRunner().invoke(app, ["status", "--config", str(named), "--tenant", "nosuch"])
    assert result.exit_code == 0 and "no records of tenant 'nosuch'" in result.stderr
    # ./tenants.yaml is where `costroute tenants` looks without --file: it counts too.
    tenants.write_text("tenants:\n  - name: acme\n")
    result = CliRunner().invoke(app, ["status", "--config", str(config), "--tenant", "nosuch"])
    assert result.exit_code == 2 and "no tenant 'nosuch' in tenants.yaml" in result.stderr
    known = CliRunner().invoke(app, ["status", "--config", str(config), "--tenant", "globex"])
    assert known.exit_code == 0 and "no records of" not in known.stderr  # it has records


def test_multi_call_routes_are_named_as_not_shadow_labelled(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    raw = yaml.safe_load(config.read_text())
    raw["routes"] = {"auto": {"router": "cheapest"},
                     "router:cascade": {"router": "cascade", "artifact": str(tmp_path / "a")},
                     "router:minions": {"router": "minions"}}
    config.write_text(yaml.safe_dump(raw))
    data = json.loads(CliRunner().invoke(app, ["status", "--config", str(config),
                                               "--json"]).stdout)
    assert data["not_shadow_labelled_routes"] == ["router:cascade", "router:minions"]
    out = CliRunner().invoke(app, ["status", "--config", str(config)],
                             terminal_width=200).output
    assert "not shadow-labelled: router:cascade, router:minions (multi-call routes" in out


def test_no_records_exits_2_from_the_command_line_too(tmp_path: Path) -> None:
    """Through the installed command (the smoke run saw exit 0): every form says why and
    exits 2."""
    env = subprocess_env(COSTROUTE_DATA_DIR=str(tmp_path / "empty"))
    for extra in ([], ["--json"], ["--tenant", "acme"]):
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "learn", "status", *extra],
            capture_output=True, text=True, timeout=120, check=False, env=env)
        assert result.returncode == 2, (extra, result.stdout, result.stderr)
        assert "no records yet" in result.stderr and result.stdout == ""


def test_status_is_mounted_on_the_costroute_command(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "learn", "status", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
        env=subprocess_env(COSTROUTE_DATA_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["requests"] == 4  # the embedded default: records.sqlite3
    assert data["not_shadow_labelled_routes"] == ["router:cascade"]  # the embedded routes'
