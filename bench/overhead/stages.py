"""Where one request's time goes inside costroute, stage by stage, in microseconds.

py-spy's profile of a served gateway (bench/overhead/profile.py) spreads costroute's own work
over hundreds of lines, none above a few percent, and leaves out what a stage waits for
(another thread, the disk). This drives the same app in-process instead: the config
bench/overhead/run.py serves (auth, the in-process store and its fsync'd spend log, pricing,
language ID, metrics, the access log at info into a file), built as `costroute serve` builds
it, called through ASGI one request at a time, with the same stub upstream over loopback.
Each stage is timed around its own call (a wrapper that is removed afterwards): its wall
time, waits included, and the CPU time of the thread that ran it (requests run one at a
time, so a stage on the event loop is charged only its own request's work; the journal's
write + fsync is charged to its writer thread). The same driver runs the floor (the FastAPI
forwarder on aiohttp) for the denominator. There is no HTTP server in front: uvicorn's
share is what bench/overhead/run.py adds on top.

Run: python bench/overhead/stages.py [--requests 3000] [--rounds 3] [--stream] [--tmpfs]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from bench.overhead.run import BODY, KEY, SHM, _stub, write_config

ASGI = Callable[[dict[str, Any], Callable[[], Awaitable[Any]],
                 Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[None]]


def _stages() -> list[tuple[str, int, Any, str]]:
    """(label, depth, owner, attribute) of each timed stage, outermost first. Imported here,
    not at module level: importing the gateway is work a `--help` should not do."""
    from gateway import app
    from gateway.ledger.journal import GroupCommitter, SpendJournal
    from gateway.serving import ChatService
    from gateway.upstream.dispatch import Dispatcher
    from pricing.estimate import Estimator
    from pricing.langid import Py3LangidIdentifier

    return [
        ("request: ChatFastPath (auth, parse, route, answer)", 0, app.ChatFastPath, "__call__"),
        ("parse and validate the body (pydantic)", 1, app, "_parse_chat"),
        ("plan: candidates and pre-flight estimates", 1, ChatService, "plan"),
        ("estimates (token counts, premiums)", 2, Estimator, "estimate_all"),
        ("language ID", 3, Py3LangidIdentifier, "identify"),
        ("reserve the budget hold", 1, ChatService, "reserve"),
        ("upstream call (aiohttp, the stub's answer)", 1, Dispatcher, "complete"),
        ("upstream stream opened (aiohttp)", 1, Dispatcher, "open_stream"),
        ("settle: price, learn, record, count", 1, ChatService, "settle"),
        ("spend log append, until durable", 2, GroupCommitter, "append"),
        ("write + fsync (on the writer thread)", 3, SpendJournal, "append_batch"),
        ("build the response (headers, metrics, log)", 1, app, "_reply_response"),
    ]


@contextlib.contextmanager
def timed(stages: list[tuple[str, int, Any, str]], totals: dict[str, int]) -> Iterator[None]:
    """Wraps each stage's callable to add its wall nanoseconds to `totals[label]` and its
    thread's CPU nanoseconds to `totals[cpu_label(label)]`."""
    originals = [(owner, name, owner.__dict__[name]) for _, _, owner, name in stages]
    for (label, _, owner, name), (_, _, original) in zip(stages, originals, strict=True):
        setattr(owner, name, _wrap(original, label, totals))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def cpu_label(label: str) -> str:
    return f"cpu:{label}"


def _wrap(original: Any, label: str, totals: dict[str, int]) -> Any:
    clock, cpu_clock, cpu = time.perf_counter_ns, time.thread_time_ns, cpu_label(label)

    def add(start: int, cpu_start: int) -> None:
        totals[label] = totals.get(label, 0) + clock() - start
        totals[cpu] = totals.get(cpu, 0) + cpu_clock() - cpu_start

    if asyncio.iscoroutinefunction(original):
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start, cpu_start = clock(), cpu_clock()
            try:
                return await original(*args, **kwargs)
            finally:
                add(start, cpu_start)
        return timed_async

    def timed_sync(*args: Any, **kwargs: Any) -> Any:
        start, cpu_start = clock(), cpu_clock()
        try:
            return original(*args, **kwargs)
        finally:
            add(start, cpu_start)
    return timed_sync


def _scope(body: bytes, key: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions", "query_string": b"", "root_path": "",
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "headers": headers}


async def _request(app: ASGI, body: bytes, key: str | None) -> None:
    """One request through the ASGI app, its whole body read (a stream to its end)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    disconnected = asyncio.Event()
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await disconnected.wait()  # a client that stays until the answer ends
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(_scope(body, key), receive, send)
    disconnected.set()
    if statuses != [200]:
        raise SystemExit(f"the request failed: status {statuses}")


@contextlib.asynccontextmanager
async def _lifespan(app: ASGI) -> Any:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                   inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"start-up failed: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def _rounds(app: ASGI, body: bytes, key: str | None, requests: int, rounds: int,
                  stages: list[tuple[str, int, Any, str]] | None) -> dict[str, float]:
    """Median over rounds of CPU µs per request and of each stage's µs per request."""
    for _ in range(max(200, requests // 10)):  # warm: connections, hot rows, tokenizers
        await _request(app, body, key)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        totals: dict[str, int] = {}
        with timed(stages or [], totals):
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                await _request(app, body, key)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        samples.setdefault("cpu", []).append(cpu * 1e6 / requests)
        samples.setdefault("wall", []).append(wall * 1e6 / requests)
        for label, ns in totals.items():
            samples.setdefault(label, []).append(ns / 1000 / requests)
    return {label: statistics.median(values) for label, values in samples.items()}


async def _costroute(workdir: Path, upstream_port: int, body: bytes, args: argparse.Namespace,
                     stages: bool) -> dict[str, float]:
    from gateway.config import load_config
    from gateway.gc_tuning import after_startup
    from gateway.logs import configure_logging
    from gateway.server import ServeOptions, make_app

    name = "stages-timed" if stages else "stages"
    config = write_config(workdir, upstream_port, name, journal_dir=args.journal_dir)
    os.environ["COSTROUTE_DATA_DIR"] = str(workdir / f"data-{name}")
    with contextlib.ExitStack() as stack:
        # The access log at info, into a file, as bench/overhead/run.py serves it.
        log_file = stack.enter_context((workdir / f"access-{name}.log").open("a"))
        stack.enter_context(contextlib.redirect_stderr(log_file))
        configure_logging("info")
        cwd = os.getcwd()
        os.chdir(workdir)  # the config names tenants.yaml relative to it
        try:
            app = after_startup(make_app(ServeOptions(load_config(config))))
        finally:
            os.chdir(cwd)
        async with _lifespan(app):
            return await _rounds(app, body, KEY, args.requests, args.rounds,
                                 _stages() if stages else None)


async def _floor(upstream_port: int, body: bytes, args: argparse.Namespace) -> dict[str, float]:
    from bench.overhead.forwarder import build

    app = build(upstream_port, "aiohttp")
    async with _lifespan(app):
        return await _rounds(app, body, None, args.requests, args.rounds, None)


def _print(args: argparse.Namespace, plain: dict[str, float], timed_run: dict[str, float],
           floor: dict[str, float]) -> None:
    mode = "streaming" if args.stream else "plain"
    where = "tmpfs" if args.tmpfs else "the working directory's disk"
    print(f"# command: python bench/overhead/stages.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"# {machine()}")
    print(f"# {mode} chat completions, one at a time, in-process through ASGI (no HTTP server "
          f"in front); spend log on {where}; medians of {args.rounds} rounds of "
          f"{args.requests} requests")
    print()
    print("| | µs per request |")
    print("|---|---|")
    print(f"| costroute, CPU (all threads) | {plain['cpu']:.1f} |")
    print(f"| costroute, wall | {plain['wall']:.1f} |")
    print(f"| the floor (FastAPI forwarder on aiohttp), CPU | {floor['cpu']:.1f} |")
    print(f"| the floor, wall | {floor['wall']:.1f} |")
    print(f"| costroute CPU / the floor's | {plain['cpu'] / floor['cpu']:.2f} |")
    print()
    print("Stages (µs per request: wall, waits included, and the CPU of the thread that ran "
          f"the stage; a separate run with the timers on: CPU {timed_run['cpu']:.1f} µs, wall "
          f"{timed_run['wall']:.1f} µs per request):")
    print()
    print("| stage | wall µs | share of the wall | CPU µs |")
    print("|---|---|---|---|")
    whole = timed_run.get(_stages()[0][0], 0.0) or 1.0
    for label, depth, _, _ in _stages():
        if label in timed_run:
            indent = "&nbsp;&nbsp;" * depth
            print(f"| {indent}{label} | {timed_run[label]:.1f} | "
                  f"{100 * timed_run[label] / whole:.0f}% | "
                  f"{timed_run.get(cpu_label(label), 0.0):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stream", action="store_true", help="streaming requests")
    parser.add_argument("--tmpfs", action="store_true",
                        help="the spend log on /dev/shm (takes the disk's fsync out)")
    args = parser.parse_args()
    import uvloop

    body = orjson.dumps({**BODY, "stream": True} if args.stream else BODY)
    workdir = Path(tempfile.mkdtemp(prefix="costroute-stages-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        args.journal_dir = None
        if args.tmpfs:
            args.journal_dir = Path(tempfile.mkdtemp(prefix="costroute-stages-", dir=SHM))
            stack.callback(shutil.rmtree, args.journal_dir, True)
        port = _stub(stack, env)
        logging.getLogger("costroute").setLevel(logging.INFO)
        plain = uvloop.run(_costroute(workdir, port, body, args, stages=False))
        timed_run = uvloop.run(_costroute(workdir, port, body, args, stages=True))
        floor = uvloop.run(_floor(port, body, args))
    _print(args, plain, timed_run, floor)


if __name__ == "__main__":
    main()
