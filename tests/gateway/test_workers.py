"""`costroute serve --workers 2`: refused on the in-process store, budgets shared on Redis,
metrics summed over the workers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from gateway.simulator.process import start_simulator_process
from tests.gateway.processes import REPO, GatewayProcess, write_gateway_config, write_tenants
from tests.gateway.test_budget_concurrency import (
    KEY,
    check_outcome,
    fire,
    no_fallback_config,
    tenant,
    worst_case_cost,
)
from tests.servers import RedisServer, free_port, subprocess_env

REQUESTS = 300
SCRAPES = 8


def _totals(base_url: str) -> tuple[float, float]:
    """One scrape's chat requests answered and budget refusals, over every label."""
    text = httpx.get(base_url.removesuffix("/v1") + "/metrics", timeout=30).text
    answered = refused = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "costroute_records_outbox_depth":  # one series, summed
            assert [s.labels for s in family.samples] == [{}], family.samples
        for sample in family.samples:
            if sample.name == "costroute_requests_total":
                answered += sample.value
            elif (sample.name == "costroute_errors_total"
                  and sample.labels.get("code") == "budget_exceeded"):
                refused += sample.value
    return answered, refused


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _serve_two_workers(tmp_path: Path, **config: object) -> subprocess.CompletedProcess[str]:
    """`costroute serve --workers 2` on one model behind a dead port, run to its exit."""
    tenants = write_tenants(tmp_path / "tenants.yaml", [tenant(1.0)])
    path = write_gateway_config(tmp_path / "gateway.yaml", {
        "models": [{"name": "gpt-4o-mini", "upstream": {"base_url": "http://127.0.0.1:9/v1"}}],
        "tenants_file": str(tenants), **config})
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(path),
         "--port", str(free_port()), "--workers", "2"],
        check=False, cwd=REPO, env=subprocess_env(COSTROUTE_DATA_DIR=str(tmp_path)),
        capture_output=True, text=True, timeout=180)


def test_two_workers_on_the_in_process_store_refuse_to_start(tmp_path: Path) -> None:
    done = _serve_two_workers(tmp_path, store={"kind": "memory"})
    assert done.returncode == 2
    assert "--workers 2 needs a budget store shared by the workers" in done.stderr
    assert "'memory'" in done.stderr and "redis" in done.stderr


def test_a_worker_that_fails_to_start_fails_the_command(tmp_path: Path) -> None:
    """uvicorn stops the parent when a worker fails before serving, but returned as if asked
    to: exit 0, and no supervisor would restart it. The command now exits uvicorn's 3."""
    # The parent's checks pass; each worker's start-up fails to load the route's artifact.
    done = _serve_two_workers(
        tmp_path, store={"kind": "redis", "url": f"redis://127.0.0.1:{free_port()}/0"},
        routes={"auto": {"router": "knn", "artifact": str(tmp_path / "missing")}})
    assert done.returncode == 3, done.stderr[-2000:]
    assert "error: a worker failed to start" in done.stderr


@pytest.mark.redis
def test_two_workers_on_redis_share_one_budget(tmp_path: Path,
                                               redis_server: RedisServer) -> None:
    per_request = worst_case_cost()
    budget = round(per_request * 60, 8)
    with ExitStack() as stack:
        sim = stack.enter_context(start_simulator_process())
        tenants = write_tenants(tmp_path / "tenants.yaml", [tenant(budget)])
        config = no_fallback_config(sim, tenants_file=str(tenants),
                                    store={"kind": "redis", "url": redis_server.url})
        config_path = write_gateway_config(tmp_path / "gateway.yaml", config)
        redis.Redis.from_url(redis_server.url).flushdb()
        gateway = GatewayProcess(config_path, tmp_path, args=["--workers", "2"]).start()
        stack.callback(gateway.stop)
        assert gateway.proc is not None
        # uvicorn's workers are multiprocessing spawns (its resource tracker is not one).
        workers = [c for c in _children(gateway.proc.pid)
                   if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")]
        assert len(workers) == 2, workers
        responses = asyncio.run(fire([gateway.base_url], REQUESTS))
        report = httpx.get(f"{gateway.base_url}/costroute/spend", timeout=30,
                           headers={"authorization": f"Bearer {KEY}"}).json()
        admitted = check_outcome(responses, budget, per_request, report["total"]["cost_usd"])
        assert report["total"]["requests"] == admitted
        # A scrape reaches one worker; each must answer for both, or counters jump around.
        for _ in range(SCRAPES):
            assert _totals(gateway.base_url) == (admitted, REQUESTS - admitted)
        console = httpx.get(f"{gateway.base_url}/costroute/console/overview", timeout=30,
                            headers={"authorization": f"Bearer {KEY}"}).json()
        assert console["errors"]["by_code"] == {"budget_exceeded": REQUESTS - admitted}
