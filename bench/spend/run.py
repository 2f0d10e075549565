"""Spend history: the spend API on the records database, the outbox, Redis memory, the cluster.

1. Spend API latency: N settled entries (10k, 100k, 1M; all of one tenant, the worst case)
   bulk-loaded straight into the `spend` tables of SQLite and PostgreSQL, then the whole
   default report (`history_report`: total, by period/model/route, language premium, cache
   hits) and a one-day range of it, timed in-process (no HTTP) for p50/p99.
2. Settle throughput through the outbox: N settles on Redis, then the drainer copying the
   log streams into SQLite and PostgreSQL (entries/s), stream trimmed after each batch.
3. Redis memory (used_memory) after N settled requests with the drainer on vs off.
4. Reserve-and-settle latency on one Redis vs a 3-primary cluster (tests/redis_cluster.py).
Servers are started from the installed binaries, as the tests do.
Run: .venv/bin/python bench/spend/run.py [--sizes 10000,100000,1000000] [--settles 5000]
     [--memory 20000] [--json bench/results/spend/results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import psycopg
import redis.asyncio as aioredis
from rich.console import Console
from rich.progress import Progress, TextColumn, track

from bench.machine import machine
from gateway.ledger.base import BudgetWindow, Hold, SpendRecord
from gateway.ledger.redis_store import RedisSpendStore
from gateway.ledger.spend_outbox import JournalOutbox
from gateway.records.postgres import PostgresRecordStore
from gateway.records.spend_drainer import SpendDrainer
from gateway.records.spend_history import SPEND_COLUMNS, SpendQuery
from gateway.records.sqlite import SQLiteRecordStore
from gateway.spend import history_report
from gateway.spend_params import SpendParams
from pricing import Estimator, PriceCatalog, TokenizerRegistry
from tests.postgres_server import PostgresServer, postgres_bin_dir
from tests.redis_cluster import RedisCluster
from tests.servers import RedisServer

console = Console()
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-haiku", "mistralai/Mixtral-8x7B-Instruct-v0.1"]
ROUTES = ["auto", "cascade", "router:cheapest"]
LANGUAGES = ["en", "de", "fr", "ja", "hi", "-"]
START = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
DAYS = 30
WINDOWS = [BudgetWindow("day", "day:2026-11-03", 1e6, "never"),
           BudgetWindow("month", "month:2026-11", 1e6, "never")]


def rows(n: int, chunk: int = 50_000) -> Iterator[tuple[list[tuple[Any, ...]],
                                                         list[tuple[Any, ...]]]]:
    """(spend rows, window rows) in chunks; deterministic."""
    rng = random.Random(17)
    for base in range(0, n, chunk):
        spend, windows = [], []
        for i in range(base, min(n, base + chunk)):
            at = START + (i / n) * DAYS * 86_400
            day = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")
            rid = f"req_{i:09d}"
            spend.append(("acme", rid, at, MODELS[i % 4], ROUTES[i % 3], "remote",
                          LANGUAGES[i % 6], "learning" if i % 10 == 0 else "traffic",
                          rng.randint(1_000, 5_000_000), 300, 40, i % 9 == 0, False, "{}"))
            windows += [("acme", f"day:{day}", rid), ("acme", "month:2026-11", rid)]
        yield spend, windows


# What write_spend keeps incrementally, built in one statement after a bulk load.
FILL_DAILY = """
INSERT INTO spend_daily SELECT s.tenant, p.period, {day}, s.model, s.route, s.language,
    s.tier, s.purpose, COUNT(*), SUM(s.prompt_tokens), SUM(s.completion_tokens),
    SUM(s.cost_nanos), SUM(CASE WHEN s.cache_hit THEN 1 ELSE 0 END)
FROM spend s JOIN (SELECT tenant, request_id, '' AS period FROM spend
                   UNION ALL SELECT tenant, request_id, period FROM spend_windows) p
  ON p.tenant = s.tenant AND p.request_id = s.request_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""
FILL_HOURLY = FILL_DAILY.replace("INSERT INTO spend_daily SELECT s.tenant, p.period, {day},",
                                 "INSERT INTO spend_hourly SELECT s.tenant, {hour}, p.period,")


def load_sqlite(path: Path, n: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    marks = ", ".join("?" for _ in SPEND_COLUMNS)
    for spend, windows in track(rows(n), total=(n + 49_999) // 50_000,
                                description=f"loading {n:,} rows into SQLite", console=console):
        conn.executemany(f"INSERT INTO spend ({', '.join(SPEND_COLUMNS)}) VALUES ({marks})", spend)
        conn.executemany("INSERT INTO spend_windows (tenant, period, request_id) "
                         "VALUES (?, ?, ?)", windows)
    console.print("building spend_daily and spend_hourly")
    conn.execute(FILL_DAILY.format(day="strftime('%Y-%m-%d', s.settled_at, 'unixepoch')"))
    conn.execute(FILL_HOURLY.format(hour="CAST(s.settled_at / 3600 AS INTEGER)"))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def load_postgres(url: str, n: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for spend, windows in track(rows(n), total=(n + 49_999) // 50_000,
                                    description=f"loading {n:,} rows into PostgreSQL",
                                    console=console):
            with conn.cursor() as cur:
                with cur.copy(f"COPY spend ({', '.join(SPEND_COLUMNS)}) FROM STDIN") as copy:
                    for row in spend:
                        copy.write_row(row)
                with cur.copy("COPY spend_windows (tenant, period, request_id) "
                              "FROM STDIN") as copy:
                    for row in windows:
                        copy.write_row(row)
        console.print("building spend_daily and spend_hourly")
        conn.execute(FILL_DAILY.format(
            day="to_char(to_timestamp(s.settled_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"))
        conn.execute(FILL_HOURLY.format(hour="CAST(FLOOR(s.settled_at / 3600) AS BIGINT)"))
        conn.execute("VACUUM ANALYZE spend_daily")
        conn.execute("VACUUM ANALYZE spend_hourly")
        conn.execute("VACUUM ANALYZE spend")
        conn.execute("VACUUM ANALYZE spend_windows")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def time_report(store: Any, repeat: int) -> dict[str, float]:
    empty = JournalOutbox(Path(tempfile.mkdtemp()) / "none.jsonl")
    drainer = SpendDrainer(empty, store)
    estimator = Estimator(PriceCatalog.shipped(), TokenizerRegistry())
    full = SpendParams(SpendQuery("acme", ("period", "model", "route")), False, 100, None)
    day = START + 10 * 86_400
    ranged = SpendParams(SpendQuery("acme", ("model", "route"), day, day + 86_400),
                         True, 100, None)
    # Bounds inside a day and inside an hour: whole hours from spend_hourly, the rows of the
    # two partial hours from spend (6 hours ~ 0.8% of the entries).
    hours = SpendParams(SpendQuery("acme", ("model", "route"), day + 3600 + 757.25,
                                   day + 7 * 3600 + 1234.5), False, 100, None)
    # Days, hours and seconds: every table at once, grouped by period too.
    mixed = SpendParams(SpendQuery("acme", ("period", "model", "route"), day - 5 * 3600 - 61.5,
                                   day + 3 * 86_400 + 7 * 3600 + 42.75), False, 100, None)
    out: dict[str, float] = {}
    check = await history_report(drainer, estimator, full)
    out["report_requests"] = check["total"]["requests"]  # must equal the entries loaded
    for name, params in (("report", full), ("one_day_with_listing", ranged),
                         ("six_hours_unaligned", hours), ("three_days_unaligned", mixed)):
        first = await history_report(drainer, estimator, params)  # warm caches
        if params.query.since is not None:  # the rollups must sum exactly the raw rows
            n = out["report_requests"]
            since, until = params.query.since, params.query.until
            inside = sum(1 for i in range(n)
                         if since <= START + (i / n) * DAYS * 86_400 < (until or math.inf))
            assert first["total"]["requests"] == inside, (name, first["total"], inside)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            await history_report(drainer, estimator, params)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{name}_p50_ms"] = round(statistics.median(times), 2)
        out[f"{name}_p99_ms"] = round(pct(times, 0.99), 2)
    return out


async def api_latency(sizes: list[int], pg: PostgresServer, repeat: int) -> list[dict[str, Any]]:
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "records.sqlite3"
            store = SQLiteRecordStore(path)
            await store.open()
            load_sqlite(path, n)
            figures = await time_report(store, repeat)
            await store.aclose()
        results.append({"db": "sqlite", "entries": n, **figures})
        console.print(results[-1])
        url = pg.create_database()
        pstore = PostgresRecordStore(url)
        await pstore.open()
        load_postgres(url, n)
        figures = await time_report(pstore, repeat)
        await pstore.aclose()
        results.append({"db": "postgres", "entries": n, **figures})
        console.print(results[-1])
    return results


async def settle(store: RedisSpendStore, n: int, tenant: str = "acme",
                 warm: int = 20) -> list[float]:
    """Times `n` reserve+settle pairs, after `warm` untimed ones (connections, scripts)."""
    for i in range(warm):
        hold = await store.reserve(tenant, f"warm{i}-{uuid.uuid4().hex[:8]}", 0.0, WINDOWS, 60.0)
        await store.release(hold)
    times = []
    for i in track(range(n), description=f"reserve+settle x{n:,}", console=console):
        rid = f"s{i}-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        hold = await store.reserve(tenant, rid, 1e-5, WINDOWS, 60.0)
        await store.settle(hold, 1e-5, SpendRecord(tenant, rid, "gpt-4o-mini", "auto", 1e-5,
                                                   300, 40, "en"))
        times.append((time.perf_counter() - t0) * 1000)
    return times


async def outbox_throughput(redis_url: str, pg: PostgresServer, n: int) -> list[dict[str, Any]]:
    results = []
    for db in ("sqlite", "postgres"):
        client = aioredis.Redis.from_url(redis_url)
        await client.flushall()
        store = RedisSpendStore.from_url(redis_url)
        t0 = time.perf_counter()
        await settle(store, n)
        settle_s = time.perf_counter() - t0
        tmp = Path(tempfile.mkdtemp())
        history: Any = (SQLiteRecordStore(tmp / "r.sqlite3") if db == "sqlite"
                        else PostgresRecordStore(pg.create_database()))
        await history.open()
        drainer = SpendDrainer(store.spend_outbox(), history)
        t0 = time.perf_counter()
        drained = await drainer.drain()
        drain_s = time.perf_counter() - t0
        left = int(await client.xlen("costroute:{acme}:log"))
        results.append({"db": db, "settles": n, "settles_per_s": round(n / settle_s),
                        "drained": drained, "drained_per_s": round(drained / drain_s),
                        "stream_left": left})
        console.print(results[-1])
        await history.aclose()
        await store.close()
        await client.aclose()
    return results


async def settle_load(store: RedisSpendStore, client: aioredis.Redis, n: int, max_s: float,
                      concurrency: int, on_done: Any, batch: int = 250) -> int:
    """Up to `n` reserve+settle pairs, stopping after `max_s`; how many settled. The store's
    own RESERVE and SETTLE scripts, keys and arguments, `batch` requests a pipeline round trip
    from `concurrency` tasks: one Python process cannot issue a million one at a time here."""
    reserve, settle_script = store.scripts()
    starts = iter(range(0, n, batch))
    deadline = time.monotonic() + max_s
    done = 0

    async def worker() -> None:
        nonlocal done
        for first in starts:
            if time.monotonic() > deadline:
                return
            pipe = client.pipeline(transaction=False)
            count = min(batch, n - first)
            for i in range(first, first + count):
                rid = f"m{i}"
                keys, args = store.reserve_call("acme", rid, 1e-5, WINDOWS, 60.0)
                await reserve(keys=keys, args=args, client=pipe)
                hold = Hold("acme", rid, 1e-5, tuple(WINDOWS))
                keys, sargs = store.settle_call(hold, 1e-5, SpendRecord(
                    "acme", rid, "gpt-4o-mini", "auto", 1e-5, 300, 40, "en"))
                await settle_script(keys=keys, args=sargs, client=pipe)
            replies = await pipe.execute()
            assert all(int(r[0]) == 1 for r in replies[0::2]), "a reserve was refused"
            assert all(int(r) == 1 for r in replies[1::2]), "a settle did not count"
            done += count
            on_done(count)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def memory_run(redis_url: str, n: int, max_s: float, drainer_on: bool,
                     marker_ttl_s: int, sample_s: float, tmp: Path) -> dict[str, Any]:
    """used_memory sampled every `sample_s` while up to `n` requests settle."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushall()
    base = int((await client.info("memory"))["used_memory"])
    store = RedisSpendStore.from_url(redis_url, settled_ttl_s=marker_ttl_s, timeout_s=10.0)
    drainer = history = None
    if drainer_on:
        history = SQLiteRecordStore(tmp / f"memory-{marker_ttl_s}.sqlite3")
        drainer = SpendDrainer(store.spend_outbox(), history, idle_s=0.05)
        drainer.start()
    samples: list[dict[str, Any]] = []
    counter = [0]
    started = time.monotonic()

    async def sample() -> None:
        used = int((await client.info("memory"))["used_memory"]) - base
        samples.append({"t_s": round(time.monotonic() - started, 1), "requests": counter[0],
                        "used_memory_bytes": used,
                        "stream_entries": int(await client.xlen("costroute:{acme}:log"))})
        console.log(samples[-1])  # also in a log that is cut short

    async def sampler() -> None:
        while True:
            await asyncio.sleep(sample_s)
            await sample()

    label = f"drainer {'on' if drainer_on else 'off'}, markers {marker_ttl_s} s"
    with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[mem]}"),
                  console=console) as progress:
        task = progress.add_task(label, total=n, mem="")

        def on_done(count: int) -> None:
            counter[0] += count
            last = samples[-1]["used_memory_bytes"] / 1e6 if samples else 0.0
            progress.update(task, completed=counter[0], mem=f"{last:.1f} MB")

        watcher = asyncio.get_running_loop().create_task(sampler())
        done = await settle_load(store, client, n, max_s, 4, on_done)
        settle_s = time.monotonic() - started
        watcher.cancel()
    if drainer is not None and history is not None:
        await drainer.drain()
        await drainer.aclose()
        await history.aclose()
    await sample()  # at the end, after the last drain
    markers = 0
    async for _ in client.scan_iter(match="costroute:{acme}:settled:*", count=10_000):
        markers += 1
    end = samples[-1]
    out = {"drainer": drainer_on, "marker_ttl_s": marker_ttl_s, "requests": done,
           "settle_s": round(settle_s, 1), "settles_per_s": round(done / settle_s),
           "used_memory_bytes": end["used_memory_bytes"],
           "bytes_per_request": round(end["used_memory_bytes"] / max(1, done), 1),
           "stream_entries": end["stream_entries"], "settled_markers": markers,
           "samples": samples}
    console.print({k: v for k, v in out.items() if k != "samples"})
    await store.close()
    await client.aclose()
    return out


async def redis_memory(redis_url: str, n: int, max_s: float, n_off: int,
                       short_ttl_s: int) -> dict[str, Any]:
    """Redis memory with the drainer on (the default one-day settled markers, then markers of
    `short_ttl_s` to show the steady state), and with it off (fewer requests: it grows
    linearly, the stream is never trimmed)."""
    tmp = Path(tempfile.mkdtemp())
    runs = [await memory_run(redis_url, n, max_s, True, 86_400, 10.0, tmp)]
    # The other two only show a shape (a plateau, a line): a few minutes each.
    if short_ttl_s:
        runs.append(await memory_run(redis_url, n, min(max_s, 3 * short_ttl_s), True,
                                     short_ttl_s, 5.0, tmp))
    if n_off:
        runs.append(await memory_run(redis_url, n_off, min(max_s, 180), False, 86_400, 5.0,
                                     tmp))
    return {"runs": runs}


async def cluster_latency(redis_url: str, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {"pairs": n}
    single = RedisSpendStore.from_url(redis_url)
    times = await settle(single, n, tenant="lat")
    out["single"] = {"p50_ms": round(statistics.median(times), 3),
                     "p99_ms": round(pct(times, 0.99), 3)}
    await single.close()
    cluster = RedisCluster(Path(tempfile.mkdtemp()))
    cluster.start()
    try:
        store = RedisSpendStore.from_url(cluster.url, cluster=True)
        times = await settle(store, n, tenant="lat")
        out["cluster"] = {"p50_ms": round(statistics.median(times), 3),
                          "p99_ms": round(pct(times, 0.99), 3)}
        await store.close()
    finally:
        cluster.stop()
    console.print(out)
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    console.print(machine())
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries not found (scripts/setup.sh --test)")
    pg = PostgresServer(bin_dir)
    pg.start()
    redis_server = RedisServer(Path(tempfile.mkdtemp()), appendonly=False)
    redis_server.start()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        parts = set(args.parts.split(","))
        out: dict[str, Any] = {"machine": machine()}
        if "api" in parts:
            out["api_latency"] = await api_latency(sizes, pg, args.repeat)
        if "outbox" in parts:
            out["outbox"] = await outbox_throughput(redis_server.url, pg, args.settles)
        if "memory" in parts:
            out["redis_memory"] = await redis_memory(redis_server.url, args.memory,
                                                     args.memory_max_s, args.memory_off,
                                                     args.marker_ttl_s)
        if "cluster" in parts:
            out["reserve_settle"] = await cluster_latency(redis_server.url, args.pairs)
        out["machine_after"] = machine()
        return out
    finally:
        redis_server.stop()
        pg.remove()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--settles", type=int, default=5000)
    parser.add_argument("--parts", default="api,outbox,memory,cluster")
    parser.add_argument("--memory", type=int, default=1_000_000,
                        help="requests per Redis-memory run with the drainer on")
    parser.add_argument("--memory-max-s", type=float, default=600.0,
                        help="stop each memory run after this long")
    parser.add_argument("--memory-off", type=int, default=200_000,
                        help="requests of the drainer-off run (0: skip)")
    parser.add_argument("--marker-ttl-s", type=int, default=60,
                        help="settled-marker TTL of the steady-state run (0: skip)")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    cli = parser.parse_args()
    result = asyncio.run(main(cli))
    if cli.json and cli.json.exists() and cli.parts != parser.get_default("parts"):
        result = {**json.loads(cli.json.read_text()), **result}  # keep the parts not rerun
    if cli.json:
        cli.json.parent.mkdir(parents=True, exist_ok=True)
        cli.json.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {cli.json}")
