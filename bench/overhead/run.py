"""Gateway overhead: gateway vs direct-to-upstream latency, RPS, CPU ms/request and RSS.

Starts a ~0 ms stub upstream, the gateway in passthrough mode (auth, in-process budget
store with its durable log, pricing and metrics all on), and drives both with wrk.
Run: .venv/bin/python bench/overhead/run.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.servers import free_port, wait_for_port  # noqa: E402

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
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        result[f"p{pct}_ms"] = _ms(*m.groups()) if m else float("nan")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    result["requests"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = float(m.group(1)) if m else 0.0
    return result


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="costroute-bench-"))
    up_port, gw_port, bare_port = free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    upstream = subprocess.Popen([sys.executable, str(REPO / "bench/overhead/stub_upstream.py"),
                                 str(up_port)], env=env)
    gateway = subprocess.Popen(
        [str(REPO / ".venv/bin/costroute"), "serve", "--config", str(write_config(workdir, up_port)),
         "--port", str(gw_port), "--log-level", "warning"],
        env=env, stderr=subprocess.DEVNULL)
    bare = subprocess.Popen([sys.executable, str(REPO / "bench/overhead/bare_forwarder.py"),
                             str(bare_port), str(up_port)], env=env)
    try:
        wait_for_port(up_port, proc=upstream)
        wait_for_port(bare_port, proc=bare)
        wait_for_port(gw_port, proc=gateway)
        direct_url = f"http://127.0.0.1:{up_port}/v1/chat/completions"
        gw_url = f"http://127.0.0.1:{gw_port}/v1/chat/completions"
        wrk(gw_url, BODY, 4, 2, auth=True)  # warm-up: tokenizer load, pools
        idle_rss = rss_mb(gateway.pid)
        rows = []
        for stream in (False, True):
            body = {**BODY, "stream": True} if stream else BODY
            for conns in (1, 32):
                direct = wrk(direct_url, body, conns, args.seconds, auth=False)
                bcpu0 = cpu_seconds(bare.pid)
                floor = wrk(f"http://127.0.0.1:{bare_port}/v1/chat/completions", body, conns,
                            args.seconds, auth=False)
                bare_cpu = (cpu_seconds(bare.pid) - bcpu0) * 1000 / max(floor["requests"], 1)
                cpu0 = cpu_seconds(gateway.pid)
                via = wrk(gw_url, body, conns, args.seconds, auth=True)
                cpu_ms = (cpu_seconds(gateway.pid) - cpu0) * 1000 / max(via["requests"], 1)
                rows.append({"stream": stream, "concurrency": conns,
                             "direct_p50_ms": direct["p50_ms"], "direct_p99_ms": direct["p99_ms"],
                             "gateway_p50_ms": via["p50_ms"], "gateway_p99_ms": via["p99_ms"],
                             "overhead_p50_ms": via["p50_ms"] - direct["p50_ms"],
                             "overhead_p99_ms": via["p99_ms"] - direct["p99_ms"],
                             "direct_rps": direct["rps"], "gateway_rps": via["rps"],
                             "gateway_cpu_ms_per_req": cpu_ms, "errors": via["errors"],
                             "bare_p50_ms": floor["p50_ms"], "bare_rps": floor["rps"],
                             "bare_cpu_ms_per_req": bare_cpu})
        loaded_rss = rss_mb(gateway.pid)
    finally:
        gateway.terminate()
        upstream.terminate()
        bare.terminate()
        gateway.wait(10)
        upstream.wait(10)
    print(f"# command: .venv/bin/python bench/overhead/run.py --seconds {args.seconds}")
    print(f"# machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"python {platform.python_version()}, load generator wrk on the same machine")
    print("| stream | conc | direct p50 | gw p50 | overhead p50 | overhead p99 | gw rps "
          "| gw CPU ms/req | bare fwd p50 | bare fwd rps | bare fwd CPU ms/req | gw/bare rps "
          "| non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['stream']} | {r['concurrency']} | {r['direct_p50_ms']:.3f} ms "
              f"| {r['gateway_p50_ms']:.3f} ms | {r['overhead_p50_ms']:.3f} ms "
              f"| {r['overhead_p99_ms']:.3f} ms | {r['gateway_rps']:.0f} "
              f"| {r['gateway_cpu_ms_per_req']:.3f} | {r['bare_p50_ms']:.3f} ms "
              f"| {r['bare_rps']:.0f} | {r['bare_cpu_ms_per_req']:.3f} "
              f"| {r['gateway_rps'] / max(r['bare_rps'], 1e-9):.2f} | {r['errors']:.0f} |")
    print(f"RSS idle {idle_rss:.1f} MiB, after load {loaded_rss:.1f} MiB")
    (workdir / "results.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
