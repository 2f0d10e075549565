"""Gateway overhead: costroute against the floor, in one run, on the same stub and load.

Starts a ~0 ms stub upstream and, in front of it: costroute (auth, the in-process budget store
with its fsync'd spend log, pricing, language ID, metrics and the JSON access log all on),
the floor — a FastAPI forwarder on aiohttp, the client costroute uses — beside FastAPI
forwarders on httpx's API over aiohttp and on httpx 0.28 (references), the LiteLLM proxy when
installed, and optionally costroute from another tree (`--before`, for before/after) and
costroute with 2 workers on a Redis store. Each is driven by the same wrk runs, one after
another: plain and streaming, 1 and 32 connections. CPU is the server process's (and its
children's) utime+stime per request; TTFB is the median time to the first `data:` event.
Run: python bench/overhead/run.py [--seconds 5] [--before TREE] [--workers 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from bench.overhead.probes import cpu_seconds, first_event_ms, rss_mb, wrk
from bench.overhead.report import report
from bench.peers.litellm import LiteLLMProxy, find_litellm, version
from tests.servers import RedisServer, free_port, wait_for_port

KEY = "cr-bench-key"
BODY = {"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write one sentence about the sea."}]}
FORWARDERS = (("forwarder aiohttp (floor)", "aiohttp"),
              ("forwarder httpx-over-aiohttp", "aiohttp-transport"),
              ("forwarder httpx 0.28", "httpx"))
TTFB_REQUESTS = 200
SHM = Path("/dev/shm")


@dataclass
class Target:
    """One server in front of the stub: its chat URL, its process, whether it authenticates."""

    name: str
    url: str
    pid: int
    key: str | None


def write_config(workdir: Path, upstream_port: int, name: str,
                 redis_url: str | None = None, journal_dir: Path | None = None) -> Path:
    tenants = {"tenants": [{"name": "bench",
                            "key_sha256": [hashlib.sha256(KEY.encode()).hexdigest()],
                            "budgets": [{"period": "month", "limit_usd": 1_000_000}]}]}
    (workdir / "tenants.yaml").write_text(yaml.safe_dump(tenants))
    store = ({"kind": "redis", "url": redis_url} if redis_url
             else {"kind": "memory", "path": str((journal_dir or workdir) / f"spend-{name}.jsonl")})
    config = {
        "models": [{"name": "gpt-4o-mini",
                    "upstream": {"base_url": f"http://127.0.0.1:{upstream_port}/v1"}}],
        "tenants_file": "tenants.yaml",
        "store": store,
    }
    path = workdir / f"gateway-{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def measure(target: Target, body: dict[str, object], conns: int, seconds: int,
            direct: dict[str, float]) -> dict[str, object]:
    cpu0 = cpu_seconds(target.pid)
    via = wrk(target.url, body, conns, seconds, target.key)
    cpu_ms = (cpu_seconds(target.pid) - cpu0) * 1000 / max(via["requests"], 1)
    return {"target": target.name, "p50_ms": via["p50_ms"], "p99_ms": via["p99_ms"],
            "overhead_p50_ms": via["p50_ms"] - direct["p50_ms"],
            "overhead_p99_ms": via["p99_ms"] - direct["p99_ms"], "rps": via["rps"],
            "cpu_ms_per_req": cpu_ms, "non_2xx": via["errors"]}


def _median(runs: list[dict[str, object]]) -> dict[str, object]:
    """Each numeric figure's median over the rounds (one round: the run itself)."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float | int):
            out[key] = statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]
    return out


def _soak(target: Target, seconds: int) -> tuple[float, list[float]]:
    """Requests served and the RSS after each 10 s of load (the first after warm-up)."""
    samples = [rss_mb(target.pid)]
    requests = 0.0
    for _ in range(max(1, seconds // 10)):
        requests += wrk(target.url, BODY, 32, 10, target.key)["requests"]
        samples.append(rss_mb(target.pid))
    return requests, samples


def _gateway(stack: ExitStack, tree: Path, config: Path, port: int, workdir: Path,
             name: str, workers: int = 1) -> subprocess.Popen[bytes]:
    """costroute from `tree`, access log at info level into a file (as a deployment keeps it).

    Each gateway has its own data directory, so its records database (where the spend
    history is drained) starts empty and is nobody else's: not the user's, and not the
    other gateways' in the same run."""
    data = workdir / f"data-{name}"
    data.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(tree),
           "COSTROUTE_DATA_DIR": str(data)}
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config),
            "--port", str(port), "--log-level", "info"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    log = (workdir / f"access-{name}.log").open("ab")
    return _spawn(stack, argv, env, cwd=tree, stderr=log)


def _stub(stack: ExitStack, env: dict[str, str]) -> int:
    """The ~0 ms stub upstream on a free port, answering; its port."""
    port = free_port()
    proc = _spawn(stack, [sys.executable, str(REPO / "bench/overhead/stub_upstream.py"),
                          str(port)], env)
    wait_for_port(port, proc=proc)
    return port


def _serving(stack: ExitStack, workdir: Path, name: str,
             env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """The stub and costroute from this tree in front of it, both answering: the gateway's
    process and its chat completions URL."""
    up_port, port = _stub(stack, env), free_port()
    proc = _gateway(stack, REPO, write_config(workdir, up_port, name), port, workdir, name)
    wait_for_port(port, timeout=120, proc=proc)
    return proc, f"http://127.0.0.1:{port}/v1/chat/completions"


def _spawn(stack: ExitStack, argv: list[str], env: dict[str, str], cwd: Path = REPO,
           stderr: object = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stderr=stderr)  # type: ignore[arg-type]

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    stack.callback(stop)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--litellm", type=Path, default=None,
                        help="litellm executable (default: .bench/litellm, made by "
                             "bench/peers/setup_litellm.sh, if present)")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--before", type=Path, default=None,
                        help="another costroute tree to measure beside this one")
    parser.add_argument("--workers", type=int, default=0,
                        help="also measure costroute with this many workers on a Redis store")
    parser.add_argument("--soak", type=int, default=0,
                        help="then drive costroute this many seconds at 32 connections, "
                             "sampling its RSS every 10 s")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each cell this many times, the targets taking turns, "
                             "and report each figure's median (a shared machine's noise "
                             "then hits every target alike)")
    parser.add_argument("--lean", action="store_true",
                        help="of the forwarders, only the floor (no httpx ones)")
    args = parser.parse_args()
    litellm = None if args.no_litellm else find_litellm(args.litellm)
    workdir = Path(tempfile.mkdtemp(prefix="costroute-bench-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    load_before = os.getloadavg()
    with ExitStack() as stack:
        up_port = _stub(stack, env)
        gateways: list[tuple[str, Path, Path | None]] = [("costroute", REPO, None)]
        if args.before:
            gateways.append(("costroute before", args.before.resolve(), None))
        if SHM.is_dir():
            # The same gateway with its spend log where fsync costs nothing: what the disk's
            # fsync latency adds to each request at low concurrency, apart from the gateway.
            shm = Path(tempfile.mkdtemp(prefix="costroute-bench-", dir=SHM))
            stack.callback(shutil.rmtree, shm, True)
            gateways.append(("costroute, spend log on tmpfs", REPO, shm))
            if args.before:
                gateways.append(("costroute before, spend log on tmpfs",
                                 args.before.resolve(), shm))
        targets: list[Target] = []
        for name, tree, journal_dir in gateways:
            port = free_port()
            slug = name.replace(" ", "-").replace(",", "")
            proc = _gateway(stack, tree, write_config(workdir, up_port, slug,
                                                      journal_dir=journal_dir),
                            port, workdir, slug)
            wait_for_port(port, timeout=120, proc=proc)
            targets.append(Target(name, f"http://127.0.0.1:{port}/v1/chat/completions",
                                  proc.pid, KEY))
        for name, client in FORWARDERS[:1] if args.lean else FORWARDERS:
            port = free_port()
            proc = _spawn(stack, [sys.executable, str(REPO / "bench/overhead/forwarder.py"),
                                  str(port), str(up_port), "--client", client], env)
            wait_for_port(port, proc=proc)
            targets.append(Target(name, f"http://127.0.0.1:{port}/v1/chat/completions",
                                  proc.pid, None))
        if args.workers > 1:
            redis = RedisServer(workdir / "redis", appendonly=False)
            redis.start()
            stack.callback(redis.stop)
            port = free_port()
            proc = _gateway(stack, REPO, write_config(workdir, up_port, "workers", redis.url),
                            port, workdir, "workers", workers=args.workers)
            wait_for_port(port, timeout=120, proc=proc)
            targets.append(Target(f"costroute {args.workers} workers, Redis store",
                                  f"http://127.0.0.1:{port}/v1/chat/completions", proc.pid, KEY))
        if litellm is not None:
            proxy = stack.enter_context(LiteLLMProxy(litellm, workdir, up_port, master_key=KEY))
            targets.append(Target(f"LiteLLM {version(litellm)}", proxy.url, proxy.proc.pid,
                                  KEY))
        for target in targets:  # warm-up: tokenizers, pools, the language model
            wrk(target.url, BODY, 4, 2, target.key)
            wrk(target.url, {**BODY, "stream": True}, 4, 1, target.key)
        rss_idle = {t.name: rss_mb(t.pid) for t in targets}
        direct_url = f"http://127.0.0.1:{up_port}/v1/chat/completions"
        rows = []
        for stream in (False, True):
            body = {**BODY, "stream": True} if stream else BODY
            for conns in (1, 32):
                direct = wrk(direct_url, body, conns, args.seconds, None)
                rows.append({"stream": stream, "concurrency": conns, "target": "direct to stub",
                             "p50_ms": direct["p50_ms"], "p99_ms": direct["p99_ms"],
                             "overhead_p50_ms": 0.0, "overhead_p99_ms": 0.0,
                             "rps": direct["rps"], "cpu_ms_per_req": 0.0,
                             "non_2xx": direct["errors"]})
                cell = [t for t in targets if not ("workers" in t.name and conns == 1)]
                runs: dict[str, list[dict[str, object]]] = {t.name: [] for t in cell}
                for _ in range(max(1, args.rounds)):
                    for target in cell:
                        runs[target.name].append(
                            measure(target, body, conns, args.seconds, direct))
                rows += [{"stream": stream, "concurrency": conns, **_median(measured)}
                         for measured in runs.values()]
        stream_body = {**BODY, "stream": True}
        direct_ttfb = first_event_ms(direct_url, stream_body, None, TTFB_REQUESTS)
        ttfb = {t.name: first_event_ms(t.url, stream_body, t.key, TTFB_REQUESTS) - direct_ttfb
                for t in targets}
        rss_loaded = {t.name: rss_mb(t.pid) for t in targets}
        # The soak runs on a Redis store where there is one: the in-process store keeps every
        # settled entry in memory by design (spend reports, idempotency), which is not a leak.
        soaked = next((t for t in targets if "Redis" in t.name), targets[0])
        soak = _soak(soaked, args.soak) if args.soak else None
    load_after = os.getloadavg()
    command = "python bench/overhead/run.py " + " ".join(sys.argv[1:])
    report(rows, ttfb, rss_idle, rss_loaded, command, machine(), load_before, load_after,
           None if litellm else "LiteLLM not measured: run bench/peers/setup_litellm.sh")
    if soak is not None:
        requests, samples = soak
        print(f"soak: {soaked.name}, {args.soak} s at 32 connections (plain), "
              f"{requests:.0f} requests;"
              f" RSS every 10 s (MiB): {', '.join(f'{m:.1f}' for m in samples)}")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "ttfb_overhead_ms": ttfb,
                                        "soak": soak}, indent=2))


if __name__ == "__main__":
    main()
