"""Added latency of the budget ledger: reserve + settle per request, at a given concurrency.

    python bench/ledger/run.py [--requests 4000] [--concurrency 32] [--redis-url URL]

Without --redis-url it starts a throwaway redis-server (no persistence) on a free loopback
port. It also measures the embedded store, with its fsync'd spend log and without it.
Prints the command, the machine, and median / p99 milliseconds per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway.ledger.base import BudgetWindow, SpendRecord, SpendStore
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.redis_store import RedisSpendStore

WINDOWS = [
    BudgetWindow("month", "month:2026-11", 1e9, "2026-12-01T00:00:00+00:00"),
    BudgetWindow("day", "day:2026-11-03", 1e9, "2026-11-04T00:00:00+00:00"),
]


async def measure(store: SpendStore, requests: int, concurrency: int, tag: str) -> list[float]:
    """Seconds each reserve+settle took, with `concurrency` requests in flight."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(index: int) -> None:
        async with gate:
            request_id = f"{tag}-{index}"
            started = time.perf_counter()
            hold = await store.reserve("bench", request_id, 0.0123, WINDOWS, 60.0)
            record = SpendRecord("bench", request_id, "gpt-4o-mini", "auto", 0.0071, 812, 164)
            await store.settle(hold, 0.0071, record)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one(i) for i in range(requests)))
    return latencies


def report(name: str, latencies: list[float], wall_s: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    print(f"{name:<34} median {statistics.median(ordered) * 1e3:7.3f} ms   "
          f"p99 {p99 * 1e3:7.3f} ms   {len(ordered) / wall_s:8.0f} req/s")


async def run_store(name: str, store: SpendStore, requests: int, concurrency: int) -> None:
    await measure(store, min(500, requests), concurrency, "warmup")
    started = time.perf_counter()
    latencies = await measure(store, requests, concurrency, "run")
    report(name, latencies, time.perf_counter() - started)
    await store.close()


@contextmanager
def local_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found: install it or pass --redis-url")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def machine() -> str:
    mem_kib = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal:")), 0)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    redis_version = "?"
    if shutil.which("redis-server"):
        redis_version = subprocess.run(["redis-server", "--version"], capture_output=True,
                                       text=True, check=False).stdout.split()[2]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"nproc={os.cpu_count()} RAM={mem_kib / 2**20:.1f} GiB cpu={cpu!r} "
            f"python={platform.python_version()} redis-server {redis_version} "
            f"loadavg={load}")


async def main(args: argparse.Namespace) -> None:
    print("command: python " + " ".join(sys.argv))
    print("machine:", machine())
    print(f"{args.requests} requests, concurrency {args.concurrency}, "
          "each = reserve (2 windows) + settle\n")
    if args.redis_url:
        await run_store("redis (given url)", RedisSpendStore.from_url(args.redis_url),
                        args.requests, args.concurrency)
    else:
        with local_redis() as url:
            await run_store("redis (local, no persistence)", RedisSpendStore.from_url(url),
                            args.requests, args.concurrency)
    with tempfile.TemporaryDirectory() as workdir:
        await run_store("memory + spend log (fsync/settle)",
                        InMemorySpendStore(Path(workdir) / "spend.jsonl"),
                        args.requests, args.concurrency)
    await run_store("memory, no spend log", InMemorySpendStore(), args.requests,
                    args.concurrency)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--redis-url", default=None)
    asyncio.run(main(parser.parse_args()))
