"""Three gateway processes on one Redis and one PostgreSQL, under 1,000 concurrent requests
from the official openai client; one replica drained with SIGTERM and one killed with
SIGKILL mid-run. Zero overspend, rate limits hold across replicas, and the spend API
(from the database) accounts for every `x-costroute-cost-usd` header."""

from __future__ import annotations

import asyncio
import math
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import hash_key
from tests.gateway.conftest import sim_config
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.postgres_server import SKIP_REASON, PostgresServer, postgres_bin_dir
from tests.servers import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

TIGHT_LIMIT_USD = 0.001  # ~80 small gpt-4o-mini requests
RATE_RPM = 40
PLAN = [("bulk", 700), ("tight", 200), ("rated", 100)]
KILL_AFTER = 300  # answers, before one replica is drained and another killed


def key(name: str) -> str:
    return f"cr-replicas-{name}-key"


def tenants() -> list[dict[str, Any]]:
    def entry(name: str, limit: float, **extra: Any) -> dict[str, Any]:
        return {"name": name, "key_sha256": [hash_key(key(name))],
                "budgets": [{"period": "month", "limit_usd": limit}], **extra}

    return [entry("bulk", 1000.0), entry("tight", TIGHT_LIMIT_USD),
            entry("rated", 1000.0, rate_limits={"requests_per_minute": RATE_RPM})]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[str, str]]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    pg = PostgresServer(bin_dir)
    pg.start()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        yield redis.url, pg.create_database()
    finally:
        redis.stop()
        pg.remove()


@pytest.fixture
def replicas(sim: SimulatorHandle, services: tuple[str, str],
             tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    redis_url, pg_url = services
    config = sim_config(sim, tenants_file=str(write_tenants(tmp_path / "tenants.yaml",
                                                            tenants())),
                        store={"kind": "redis", "url": redis_url},
                        records={"kind": "postgres", "url": pg_url})
    config["server"] = {"drain_timeout_s": 20}
    path = write_gateway_config(tmp_path / "gateway.yaml", config)
    made = [GatewayProcess(path, tmp_path / f"r{i}") for i in range(3)]
    for process in made:
        process.log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        for process in made:
            process.start()
        yield made
    finally:
        for process in made:
            process.stop()


class Outcomes:
    def __init__(self) -> None:
        self.costs: dict[str, dict[str, float]] = {name: {} for name, _ in PLAN}
        self.refused: dict[str, list[str]] = {name: [] for name, _ in PLAN}
        self.lost = 0  # no answer at all: the connection was cut and not sent again
        self.cut = 0  # connections cut (by the killed or the closing replica), resent or not
        self.answered = 0


async def run_load(replicas: list[GatewayProcess], outcomes: Outcomes) -> None:
    clients = {(i, name): openai.AsyncOpenAI(base_url=r.base_url, api_key=key(name),
                                             max_retries=0, timeout=60)
               for i, r in enumerate(replicas) for name, _ in PLAN}
    alive = [True, True, True]
    killed = asyncio.Event()

    async def one(n: int, name: str) -> None:
        # A load balancer's view: replicas that went away get no more requests; a request
        # refused by a closing replica is sent once more, to one that is still up.
        for attempt in range(2):
            choice = n % 3 if attempt == 0 and alive[n % 3] else 0
            try:
                raw = await clients[(choice, name)].chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", max_tokens=16,
                    messages=[{"role": "user", "content": f"Count to {n % 7}."}])
            except openai.APIStatusError as exc:
                outcomes.refused[name].append(str(exc.body and exc.body.get("code")))
                return
            except openai.APIConnectionError:
                outcomes.cut += 1
                if attempt == 0 and killed.is_set():
                    continue
                outcomes.lost += 1
                return
            outcomes.costs[name][raw.headers["x-request-id"]] = float(
                raw.headers["x-costroute-cost-usd"])
            outcomes.answered += 1
            if outcomes.answered == KILL_AFTER:
                alive[1] = alive[2] = False
                killed.set()
                replicas[1].signal(signal.SIGTERM)
                replicas[2].kill()
            return

    jobs = [one(n, name) for name, count in PLAN for n in range(count)]
    jobs = [jobs[i] for i in sorted(range(len(jobs)), key=lambda i: (i * 7919) % len(jobs))]
    try:
        await asyncio.gather(*jobs)
    finally:
        for client in clients.values():
            await client.close()


def spend(replica: GatewayProcess, name: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{replica.base_url}/costroute/spend", params=params, timeout=60,
                         headers={"authorization": f"Bearer {key(name)}"})
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report


def caught_up(replica: GatewayProcess, name: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """The report once the database has every settled entry (the drainers may lag a burst)."""
    deadline = time.monotonic() + timeout_s
    while True:
        report = spend(replica, name, list="requests", limit=1000)
        assert report["source"] == "records"
        if report["lag"]["pending"] == 0 or time.monotonic() > deadline:
            assert report["lag"]["pending"] == 0, report["lag"]
            return report
        time.sleep(0.2)


def test_three_replicas_one_thousand_requests(replicas: list[GatewayProcess]) -> None:
    outcomes = Outcomes()
    started = time.monotonic()
    asyncio.run(run_load(replicas, outcomes))
    elapsed_s = time.monotonic() - started
    survivor = replicas[0]
    assert outcomes.answered >= KILL_AFTER
    print(f"answered {outcomes.answered}, refused "
          f"{ {k: len(v) for k, v in outcomes.refused.items()} }, connections cut "
          f"{outcomes.cut}, lost {outcomes.lost}, in {elapsed_s:.1f} s")

    for name, _ in PLAN:
        report = caught_up(survivor, name)
        stored = {r["request_id"]: r["cost_usd"] for r in report["requests"]}
        answered = outcomes.costs[name]
        # Every answered request is in the database once, at the cost its header said.
        for request_id, cost in answered.items():
            assert stored.get(request_id) == pytest.approx(cost, abs=1e-8), request_id
        # Settled but never answered: only requests whose connection was cut (SIGKILL).
        orphans = set(stored) - set(answered)
        assert len(orphans) <= outcomes.cut
        assert report["total"]["cost_usd"] == pytest.approx(
            sum(answered.values()) + sum(stored[r] for r in orphans), abs=1e-8 * len(stored))
        if not orphans:
            assert report["total"]["cost_usd"] == pytest.approx(sum(answered.values()),
                                                                abs=1e-8 * len(stored))

    tight = spend(survivor, "tight")["total"]["cost_usd"]
    assert 0 < tight <= TIGHT_LIMIT_USD, "zero overspend"
    assert "budget_exceeded" in outcomes.refused["tight"] or any(
        code == "insufficient_quota" for code in outcomes.refused["tight"])
    rated = spend(survivor, "rated")["total"]["requests"]
    # GCRA: a burst of RATE_RPM, then one more every 60/RATE_RPM seconds, on all replicas.
    assert rated <= RATE_RPM + math.ceil(elapsed_s * RATE_RPM / 60), "rate limit across replicas"
    assert "rate_limit_exceeded" in outcomes.refused["rated"]
    drained = replicas[1].proc
    assert drained is not None and drained.wait(30) in (0, -signal.SIGTERM), "drained cleanly"
    assert "Traceback" not in replicas[1].logs()
