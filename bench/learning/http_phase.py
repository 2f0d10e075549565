"""The real gateway path: uvicorn on loopback, the simulator as a child process answering as
the dataset's models (and its simulated judge), the official openai client.

Two tenants share one gateway and alternate requests with the same prompts: `plain` (no
learning) and `learner` (capture, shadow at `rate`, simulated judge, a learning budget).
Their client latencies are compared in the same run; learning's spend is read back from the
gateway's spend ledger split by purpose.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import socket
import statistics
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import openai
import uvicorn

from gateway.app import create_app, wrap_asgi
from gateway.assembly import Gateway, build_gateway
from gateway.budget import LedgerBudget
from gateway.config import parse_config
from gateway.learning.shadow import ShadowRunner
from gateway.learning.table import outcomes_to_routing_table
from gateway.ledger.factory import open_rate_limiter
from gateway.ledger.guard import BudgetGuard
from gateway.ledger.memory import InMemorySpendStore
from gateway.records.outbox import RecordOutbox
from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.simulator.process import start_simulator_process
from gateway.tenants.config import TenantConfig, hash_key
from gateway.tenants.directory import TenantDirectory
from routers.datasets.format import RoutingDataset

PLAIN_KEY, LEARNER_KEY = "bench-plain-key", "bench-learner-key"
T = TypeVar("T")


def gateway_config(sim_url: str, prices: dict[str, Any], quality: dict[str, float],
                   pool: list[str]) -> dict[str, Any]:
    up = {"base_url": sim_url, "timeout": {"total_s": 120}}
    models = [{"name": m, "upstream": up, "price": prices[m], "quality": round(quality[m], 4)}
              for m in pool]
    models.append({"name": SIMULATED_JUDGE, "upstream": up, "price": prices[SIMULATED_JUDGE]})
    return {"models": models, "routes": {"auto": {"router": "table", "models": pool}},
            # The production path: captured records go through the gateway's outbox (built
            # off the request path), into an in-process store the benchmark reads back.
            "records": {"kind": "memory"},
            "retry": {"max_attempts": 1, "failures_before_cooldown": 1000}}


def tenants(rate: float, k: int | None = None) -> list[TenantConfig]:
    learner = {"capture": True, "shadow_rate": rate, "judge": {"model": SIMULATED_JUDGE},
               "shadow_models_per_prompt": k,
               "budget": {"period": "day", "limit_usd": 1000.0}}
    return [TenantConfig(name="plain", key_sha256=[hash_key(PLAIN_KEY)]),
            TenantConfig.model_validate({"name": "learner", "key_sha256": [hash_key(LEARNER_KEY)],
                                         "learning": learner})]


class ServerLatency(logging.Handler):
    """The gateway's own latency per request (its access log's `latency_ms`, from reading the
    request to the answer's response), per tenant: what learning adds on the gateway's side,
    apart from the client's and the machine's noise."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_tenant: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and "latency_ms" in fields:
            self.by_tenant.setdefault(str(fields.get("tenant")), []).append(
                float(fields["latency_ms"]))

    def p50(self, tenant: str) -> float:
        found = self.by_tenant.get(tenant)
        return statistics.median(found) if found else math.nan


@dataclass
class Served:
    """The gateway serving in this process's thread, and that thread's event loop."""

    url: str
    gateway: Gateway
    store: InMemorySpendStore
    loop: asyncio.AbstractEventLoop
    server_latency: ServerLatency

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs `coroutine` on the gateway's loop (its outbox and stores live there)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=600)


@contextmanager
def serve(config: dict[str, Any], who: list[TenantConfig], queue: int) -> Iterator[Served]:
    parsed = parse_config(config)
    store, built = InMemorySpendStore(), []
    access, latency = logging.getLogger("costroute.access"), ServerLatency()
    level = access.level
    access.addHandler(latency)
    access.setLevel(logging.INFO)

    async def build() -> Gateway:
        gateway = build_gateway(parsed, TenantDirectory.from_tenants(who),
                                LedgerBudget(BudgetGuard(store), open_rate_limiter("memory")))
        gateway.store = store
        loop = gateway.learning
        assert loop is not None
        # A queue as long as the run: the benchmark wants every sampled prompt labelled
        # (the shipped default of 64 sheds under load, which the tests cover).
        loop.runner = ShadowRunner(loop.run_job, loop.metrics, concurrency=4, queue_size=queue)
        built.append((gateway, asyncio.get_running_loop()))
        return gateway

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(wrap_asgi(create_app(build), 1 << 24),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}/v1", built[0][0], store, built[0][1], latency)
    finally:
        access.removeHandler(latency)
        access.setLevel(level)
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class HttpResult:
    n: int
    rate: float
    eps: float
    p50_plain_ms: float
    p50_learner_ms: float
    p50_server_plain_ms: float
    p50_server_learner_ms: float
    failed: int
    traffic_usd: float
    learning_usd: float
    counts: dict[str, int]
    table: RoutingDataset


def run_http(pool: RoutingDataset, prompts: list[str], rate: float, eps: float,
             sim_files: tuple[Path, Path, dict[str, Any]], latency_scale: float,
             progress: Any, k: int | None = None) -> HttpResult:
    models_path, recordings_path, prices = sim_files
    quality = {m: float(q) for m, q in zip(pool.models, np.nanmean(pool.scores, axis=0),
                                           strict=True)}
    args = ["--latency-scale", str(latency_scale), "--models", str(models_path),
            "--recordings", str(recordings_path), "--judge-flip", str(eps)]
    with start_simulator_process(args, startup_timeout_s=120) as sim, \
            serve(gateway_config(f"{sim.root_url}/v1", prices, quality, pool.models),
                  tenants(rate, k), queue=len(prompts) + 1) as served:
        url, gateway, store = served.url, served.gateway, served.store
        # The client runs in its own process, as an application would: in this one its
        # thread would share the GIL with the gateway's, so the learning work that runs
        # once an answer is sent would be timed as the client's own.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as client:
            lat, failed = client.submit(drive_client, url, prompts).result()
        progress.update(len(prompts))
        loop = gateway.learning
        assert loop is not None
        deadline = time.monotonic() + 1800
        while loop.runner.backlog or _running(loop.metrics.counts):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        counts = dict(loop.metrics.counts)
        entries = served.call(store.entries("learner"))
        learning = sum(e.actual_nanos for e in entries
                       if e.record.extra.get("purpose") == "learning") / 1e9
        traffic = sum(e.actual_nanos for e in entries
                      if e.record.extra.get("purpose") != "learning") / 1e9
        table = served.call(_table(gateway, pool.models))
    return HttpResult(len(prompts), rate, eps, 1000 * statistics.median(lat["plain"]),
                      1000 * statistics.median(lat["learner"]),
                      served.server_latency.p50("plain"), served.server_latency.p50("learner"),
                      failed, traffic, learning,
                      counts, table)


def drive_client(url: str, prompts: list[str]) -> tuple[dict[str, list[float]], int]:
    """Each prompt from both tenants in turn (which goes first alternates), timed as the
    official client sees it; the latencies per tenant and the failed count."""
    plain = openai.OpenAI(base_url=url, api_key=PLAIN_KEY, max_retries=0, timeout=120)
    learner = openai.OpenAI(base_url=url, api_key=LEARNER_KEY, max_retries=0, timeout=120)
    lat: dict[str, list[float]] = {"plain": [], "learner": []}
    failed = 0
    for i, prompt in enumerate(prompts):
        order = [("plain", plain), ("learner", learner)]
        for name, client in order if i % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            try:
                client.chat.completions.create(
                    model="auto", messages=[{"role": "user", "content": prompt}])
            except openai.OpenAIError:
                failed += 1
            lat[name].append(time.perf_counter() - started)
    return lat, failed


def _running(counts: dict[str, int]) -> bool:
    finished = counts.get("jobs_done", 0) + counts.get("jobs_failed", 0)
    return finished < counts.get("jobs_queued", 0)


async def _table(gateway: Gateway, models: list[str]) -> RoutingDataset:
    outbox, records = gateway.records, gateway.record_store
    assert isinstance(outbox, RecordOutbox) and records is not None
    if not await outbox.flush(timeout_s=600):
        raise RuntimeError("the records outbox did not drain")
    return outcomes_to_routing_table(await records.outcomes("learner"), models)
