"""Three gateway replicas (one of them `serve --workers 2`) on one Redis and one PostgreSQL,
under 1,000 concurrent requests from the official openai client; one replica drained with
SIGTERM and one killed with SIGKILL mid-run. Zero overspend, rate limits hold across
replicas, and the spend API (from the database) accounts exactly for every request:

    spend = sum of x-costroute-cost-usd of the answered requests
          + the spend of requests whose connection was cut

Each request carries its own `x-client-request-id`, which the spend entry keeps, so a cut
request (its client never saw our x-request-id) is named in the spend listing by the
client's id, at no more than it held. The killed replica's requests that were in flight
settle nothing: their holds stay in Redis, counted against the budget (never overspent),
until `reservation_ttl_s` after they were taken; the next script on that tenant drops them."""

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
import redis

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.server import SimulatorHandle, run_simulator
from gateway.tenants.config import hash_key
from tests.gateway.conftest import sim_config
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.postgres_server import SKIP_REASON, PostgresServer, postgres_bin_dir
from tests.servers import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

TIGHT_LIMIT_USD = 0.001  # ~80 small gpt-4o-mini requests
RATE_RPM = 40
PLAN = [("bulk", 700), ("tight", 200), ("rated", 100)]
KILL_AFTER = 300  # upstream calls, before one replica is drained and another killed
HOLD_TTL_S = 120  # reservation_ttl_s: how long a killed replica's holds keep counting


def key(name: str) -> str:
    return f"cr-replicas-{name}-key"


def tenants() -> list[dict[str, Any]]:
    def entry(name: str, limit: float, **extra: Any) -> dict[str, Any]:
        return {"name": name, "key_sha256": [hash_key(key(name))],
                "budgets": [{"period": "month", "limit_usd": limit}], **extra}

    return [entry("bulk", 1000.0), entry("tight", TIGHT_LIMIT_USD),
            entry("rated", 1000.0, rate_limits={"requests_per_minute": RATE_RPM})]


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    """Upstream answers take their simulated time (not 0, as elsewhere), so that requests are
    still in flight on the replica that is killed, and its clients' connections are cut."""
    with run_simulator(SimulatorConfig(latency_scale=1.0)) as handle:
        yield handle


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
                        store={"kind": "redis", "url": redis_url,
                               "reservation_ttl_s": HOLD_TTL_S},
                        records={"kind": "postgres", "url": pg_url})
    config["server"] = {"drain_timeout_s": 20}
    path = write_gateway_config(tmp_path / "gateway.yaml", config)
    # The survivor runs two worker processes on one socket (gateway/workers.py).
    made = [GatewayProcess(path, tmp_path / f"r{i}", args=["--workers", "2"] if i == 0 else [])
            for i in range(3)]
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
        # Per tenant: our x-request-id -> (the client's id, x-costroute-cost-usd).
        self.answered: dict[str, dict[str, tuple[str, float]]] = {n: {} for n, _ in PLAN}
        self.refused: dict[str, list[str]] = {name: [] for name, _ in PLAN}
        # Client ids of requests whose connection was cut (by the killed or the closing
        # replica): settled or not, the client cannot tell.
        self.cut: dict[str, set[str]] = {name: set() for name, _ in PLAN}
        self.lost = 0  # no answer at all: the connection was cut and not sent again

    @property
    def answers(self) -> int:
        return sum(len(a) for a in self.answered.values())


async def run_load(replicas: list[GatewayProcess], outcomes: Outcomes,
                   sim: SimulatorHandle) -> None:
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
            client_id = f"c-{name}-{n}-{attempt}"
            try:
                raw = await clients[(choice, name)].chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", max_tokens=16,
                    messages=[{"role": "user", "content": f"Count to {n % 7}."}],
                    extra_headers={"x-client-request-id": client_id})
            except openai.APIStatusError as exc:
                outcomes.refused[name].append(str(exc.body and exc.body.get("code")))
                return
            except openai.APIConnectionError:
                outcomes.cut[name].add(client_id)
                if attempt == 0 and killed.is_set():
                    continue
                outcomes.lost += 1
                return
            assert raw.headers["x-client-request-id"] == client_id
            outcomes.answered[name][raw.headers["x-request-id"]] = (
                client_id, float(raw.headers["x-costroute-cost-usd"]))
            return

    async def kill_mid_run() -> None:
        # Counted where the requests are served, not where the answers are read: this one
        # client process reads answers more slowly than three replicas write them.
        while await asyncio.to_thread(sim.control.requests, "gpt-4o-mini") < KILL_AFTER:
            await asyncio.sleep(0.05)
        alive[1] = alive[2] = False
        killed.set()
        replicas[1].signal(signal.SIGTERM)
        replicas[2].kill()

    jobs = [one(n, name) for name, count in PLAN for n in range(count)]
    jobs = [jobs[i] for i in sorted(range(len(jobs)), key=lambda i: (i * 7919) % len(jobs))]
    try:
        await asyncio.gather(*jobs, kill_mid_run())
    finally:
        for client in clients.values():
            await client.close()


def spend(replica: GatewayProcess, name: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{replica.base_url}/costroute/spend", params=params, timeout=60,
                         headers={"authorization": f"Bearer {key(name)}"})
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report


def caught_up(replica: GatewayProcess, name: str, timeout_s: float = 60.0) -> list[Any]:
    """Every settled request in the database, once the drainers have caught up (they may lag
    a burst), paged through the listing."""
    deadline = time.monotonic() + timeout_s
    while True:
        report = spend(replica, name, list="requests", limit=1)
        assert report["source"] == "records"
        if report["lag"]["pending"] == 0 or time.monotonic() > deadline:
            assert report["lag"]["pending"] == 0, report["lag"]
            break
        time.sleep(0.2)
    rows: list[Any] = []
    cursor = None
    while True:
        page = spend(replica, name, list="requests", limit=500,
                     **({"cursor": cursor} if cursor else {}))
        rows += page["requests"]
        cursor = page["next_cursor"]
        if not cursor:
            return rows


def live_holds(redis_url: str, name: str) -> tuple[list[tuple[str, float]], float]:
    """(request id, expiry in unix seconds) of the tenant's holds in Redis, and Redis's now."""
    client = redis.Redis.from_url(redis_url)
    try:
        found: Any = client.zrange(f"costroute:{{{name}}}:holds", 0, -1, withscores=True)
        holds = [(k.decode(), float(score) / 1000) for k, score in found]
        now: Any = client.time()
        seconds, micros = now
        return holds, seconds + micros / 1e6
    finally:
        client.close()


def test_three_replicas_one_thousand_requests(replicas: list[GatewayProcess],
                                              services: tuple[str, str],
                                              sim: SimulatorHandle) -> None:
    outcomes = Outcomes()
    started = time.monotonic()
    asyncio.run(run_load(replicas, outcomes, sim))
    elapsed_s = time.monotonic() - started
    survivor = replicas[0]
    assert replicas[2].proc is not None and replicas[2].proc.returncode == -signal.SIGKILL
    cut_settled = 0
    held_left = 0

    for name, _ in PLAN:
        rows = caught_up(survivor, name)
        stored = {r["request_id"]: r for r in rows}
        assert len(stored) == len(rows), "each request stored once"
        answered = outcomes.answered[name]
        for request_id, (client_id, cost) in answered.items():
            # Every answered request is in the database once, at the cost its header said.
            row = stored[request_id]
            assert row["cost_usd"] == pytest.approx(cost, abs=1e-9), request_id
            assert row["client_request_id"] == client_id
        # Settled but never answered: only requests whose connection was cut, each named
        # by the client's id, each at no more than it held.
        orphans = [stored[r] for r in set(stored) - set(answered)]
        assert {o["client_request_id"] for o in orphans} <= outcomes.cut[name]
        assert all(o["cost_usd"] <= o["held_usd"] + 1e-9 for o in orphans), orphans
        cut_settled += len(orphans)
        # Exact accounting: the database's total is the headers plus the cut requests.
        total = spend(survivor, name)["total"]
        assert total["requests"] == len(answered) + len(orphans)
        assert total["cost_usd"] == pytest.approx(
            sum(c for _, c in answered.values()) + sum(o["cost_usd"] for o in orphans),
            abs=1e-9 * max(1, len(stored)))
        # What is still held: only the killed replica's requests in flight, cut and never
        # settled, each expiring within reservation_ttl_s.
        holds, now = live_holds(services[0], name)
        unsettled_cut = outcomes.cut[name] - {o["client_request_id"] for o in orphans}
        assert len(holds) <= len(unsettled_cut), (holds, unsettled_cut)
        assert not {r for r, _ in holds} & set(stored), "a settled request is still held"
        assert all(expiry <= now + HOLD_TTL_S + 1 for _, expiry in holds)
        held_left += len(holds)

    print(f"answered {outcomes.answers}, refused "
          f"{ {k: len(v) for k, v in outcomes.refused.items()} }, connections cut "
          f"{sum(len(c) for c in outcomes.cut.values())} (settled {cut_settled}, still held "
          f"{held_left}), lost {outcomes.lost}, in {elapsed_s:.1f} s")
    tight = spend(survivor, "tight")["total"]["cost_usd"]
    assert 0 < tight <= TIGHT_LIMIT_USD, "zero overspend"
    assert "budget_exceeded" in outcomes.refused["tight"] or any(
        code == "insufficient_quota" for code in outcomes.refused["tight"])
    rated = spend(survivor, "rated")["total"]["requests"]
    # GCRA: a burst of RATE_RPM, then one more every 60/RATE_RPM seconds, on all replicas.
    assert rated <= RATE_RPM + math.ceil(elapsed_s * RATE_RPM / 60), "rate limit across replicas"
    assert "rate_limit_exceeded" in outcomes.refused["rated"]
    drained = replicas[1].proc
    # drain_timeout_s (20 s) for what is in flight, then shutdown; generous for a loaded box.
    assert drained is not None and drained.wait(120) in (0, -signal.SIGTERM), "drained cleanly"
    assert "Traceback" not in replicas[1].logs()
    assert "Traceback" not in survivor.logs()
