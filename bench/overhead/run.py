"""Gateway overhead: gateway vs direct-to-upstream latency, RPS, CPU ms/request and RSS.

Starts a ~0 ms stub upstream, the gateway in passthrough mode (auth, in-process budget
store with its durable log, pricing and metrics all on), a bare Starlette+httpx forwarder
(the practical floor) and, when installed, the LiteLLM proxy (the peer), and drives each
with the same wrk runs, one after another.
Run: .venv/bin/python bench/overhead/run.py [--seconds 10] [--litellm PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
from bench.peers.litellm import LiteLLMProxy, find_litellm, version
from tests.servers import free_port, wait_for_port

KEY = "cr-bench-key"
BODY = {"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write one sentence about the sea."}]}


def wrk(url: str, body: dict[str, object], connections: int, seconds: int, auth: bool) -> dict[str, float]:
    lua = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        + (f'wrk.headers["Authorization"] = "Bearer {KEY}"\n' if auth else "")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    return _parse_wrk(out)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _parse_wrk(out: str) -> dict[str, float]:
    result: dict[str, float] = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        result[f"p{pct}_ms"] = _ms(*m.groups()) if m else float("nan")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    result["requests"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = float(m.group(1)) if m else 0.0
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and every process below it (LiteLLM forks workers)."""
    total = 0.0
    for child in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_config(workdir: Path, upstream_port: int) -> Path:
    import hashlib

    tenants = {"tenants": [{"name": "bench",
                            "key_sha256": [hashlib.sha256(KEY.encode()).hexdigest()],
                            "budgets": [{"period": "month", "limit_usd": 1_000_000}]}]}
    (workdir / "tenants.yaml").write_text(yaml.safe_dump(tenants))
    config = {
        "models": [{"name": "gpt-4o-mini",
                    "upstream": {"base_url": f"http://127.0.0.1:{upstream_port}/v1"}}],
        "tenants_file": "tenants.yaml",
        "store": {"kind": "memory", "path": str(workdir / "spend.jsonl")},
    }
    path = workdir / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Target:
    """One thing measured in front of the stub: its chat URL, its process and whether it
    authenticates (the gateway and LiteLLM do; the bare forwarder does not)."""

    name: str
    url: str
    pid: int
    auth: bool


def measure(target: Target, body: dict[str, object], conns: int, seconds: int,
            direct: dict[str, float]) -> dict[str, object]:
    cpu0 = cpu_seconds(target.pid)
    via = wrk(target.url, body, conns, seconds, auth=target.auth)
    cpu_ms = (cpu_seconds(target.pid) - cpu0) * 1000 / max(via["requests"], 1)
    return {"target": target.name, "p50_ms": via["p50_ms"], "p99_ms": via["p99_ms"],
            "overhead_p50_ms": via["p50_ms"] - direct["p50_ms"],
            "overhead_p99_ms": via["p99_ms"] - direct["p99_ms"], "rps": via["rps"],
            "cpu_ms_per_req": cpu_ms, "non_2xx": via["errors"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--litellm", type=Path, default=None,
                        help="litellm executable to compare with (default: .bench/litellm, "
                             "made by bench/peers/setup_litellm.sh, if present)")
    args = parser.parse_args()
    litellm = find_litellm(args.litellm)
    workdir = Path(tempfile.mkdtemp(prefix="costroute-bench-"))
    up_port, gw_port, bare_port = free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    load_before = os.getloadavg()
    with ExitStack() as stack:
        upstream = _spawn(stack, [sys.executable, str(REPO / "bench/overhead/stub_upstream.py"),
                                  str(up_port)], env)
        gateway = _spawn(stack, [str(REPO / ".venv/bin/costroute"), "serve", "--config",
                                 str(write_config(workdir, up_port)), "--port", str(gw_port),
                                 "--log-level", "warning"], env, quiet=True)
        bare = _spawn(stack, [sys.executable, str(REPO / "bench/overhead/bare_forwarder.py"),
                              str(bare_port), str(up_port)], env)
        wait_for_port(up_port, proc=upstream)
        wait_for_port(bare_port, proc=bare)
        wait_for_port(gw_port, proc=gateway)
        targets = [Target("costroute", f"http://127.0.0.1:{gw_port}/v1/chat/completions",
                          gateway.pid, auth=True),
                   Target("bare Starlette+httpx", f"http://127.0.0.1:{bare_port}/v1/chat/"
                          "completions", bare.pid, auth=False)]
        if litellm is not None:
            proxy = stack.enter_context(LiteLLMProxy(litellm, workdir, up_port, master_key=KEY))
            targets.append(Target(f"LiteLLM {version(litellm)}", proxy.url, proxy.proc.pid,
                                  auth=True))
        for target in targets:
            wrk(target.url, BODY, 4, 2, auth=target.auth)  # warm-up: tokenizers, pools
        idle_rss = rss_mb(gateway.pid)
        rows = []
        for stream in (False, True):
            body = {**BODY, "stream": True} if stream else BODY
            for conns in (1, 32):
                direct = wrk(f"http://127.0.0.1:{up_port}/v1/chat/completions", body, conns,
                             args.seconds, auth=False)
                for target in targets:
                    rows.append({"stream": stream, "concurrency": conns,
                                 "direct_p50_ms": direct["p50_ms"],
                                 **measure(target, body, conns, args.seconds, direct)})
        loaded_rss = rss_mb(gateway.pid)
    report(rows, args, idle_rss, loaded_rss, load_before,
           litellm_note=None if litellm else "LiteLLM not measured: run "
           "bench/peers/setup_litellm.sh or pass --litellm")
    (workdir / "results.json").write_text(json.dumps(rows, indent=2))


def _spawn(stack: ExitStack, argv: list[str], env: dict[str, str],
           quiet: bool = False) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL if quiet else None)

    def stop() -> None:
        proc.terminate()
        proc.wait(10)
    stack.callback(stop)
    return proc


def report(rows: list[dict[str, object]], args: argparse.Namespace, idle_rss: float,
           loaded_rss: float, load_before: tuple[float, float, float],
           litellm_note: str | None) -> None:
    print(f"# command: .venv/bin/python bench/overhead/run.py --seconds {args.seconds}"
          + (f" --litellm {args.litellm}" if args.litellm else ""))
    print(f"# {machine()}; load generator wrk on the same machine; load before "
          f"{load_before[0]:.2f}")
    print("| stream | conc | target | p50 | overhead p50 | overhead p99 | rps "
          "| CPU ms/req | rps / bare | CPU / bare | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        bare = next(b for b in rows if b["stream"] == r["stream"]
                    and b["concurrency"] == r["concurrency"]
                    and str(b["target"]).startswith("bare"))
        print(f"| {r['stream']} | {r['concurrency']} | {r['target']} | {r['p50_ms']:.2f} ms "
              f"| {r['overhead_p50_ms']:.2f} ms | {r['overhead_p99_ms']:.2f} ms "
              f"| {r['rps']:.0f} | {r['cpu_ms_per_req']:.2f} "
              f"| {float(r['rps']) / max(float(bare['rps']), 1e-9):.2f} "
              f"| {float(r['cpu_ms_per_req']) / max(float(bare['cpu_ms_per_req']), 1e-9):.2f} "
              f"| {r['non_2xx']:.0f} |")
    print(f"costroute RSS idle {idle_rss:.1f} MiB, after load {loaded_rss:.1f} MiB")
    if litellm_note:
        print(litellm_note)


if __name__ == "__main__":
    main()
