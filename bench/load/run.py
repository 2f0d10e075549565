"""Load, soak and scale: the gateway (1 and 2 replicas on one Redis) in front of a ~0 ms stub.

For non-streaming, streaming and `auto`-routed traffic it reports RPS, p50/p99 latency,
the overhead over calling the stub directly, and errors, first with one replica and then
with two (the scaling ratio is RPS(2) / RPS(1)). Between the two, a soak sends the three
kinds of request in turn to one replica and samples its RSS every `--sample-every` seconds;
the RSS must be flat after warm-up (see bench/load/flatness.py).

The LiteLLM proxy, when installed (bench/peers/setup_litellm.sh), is measured the same way.

Run: .venv/bin/python bench/load/run.py [--seconds 10] [--soak-seconds 600] [--litellm PATH]
     [--knn-artifact DIR [--fresh-auto-prompts]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.load import drive
from bench.load.cluster import Cluster
from bench.load.flatness import Sampler, flatness
from bench.overhead.run import BODY, KEY, rss_mb
from bench.peers.litellm import LiteLLMProxy, find_litellm, version

MODES: dict[str, dict[str, Any]] = {
    "non-stream": BODY,
    "stream": {**BODY, "stream": True},
    "auto": {**BODY, "model": "auto"},
}


def fresh_auto(body: dict[str, Any]) -> dict[str, Any]:
    """The `auto` body with a question that is new on every request (no embedding cache hit)."""
    messages = [*body["messages"][:-1],
                {"role": "user", "content": f"Question {drive.FRESH}: write one sentence about "
                                            f"the sea and the number {drive.FRESH}."}]
    return {**body, "messages": messages}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.machine())
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {ram:.0f} GiB, python "
            f"{platform.python_version()}, wrk on the same machine")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(cluster: Cluster, replicas: int, args: argparse.Namespace,
            direct: dict[str, drive.Result]) -> dict[str, dict[str, Any]]:
    urls = cluster.scale_to(replicas)
    targets = urls if replicas > 1 else urls * 2  # always two wrk processes: same client side
    rows: dict[str, dict[str, Any]] = {}
    for mode, body in args.modes.items():
        script = drive.lua_script([body], auth=True)
        drive.run(targets, script, args.connections, 2)  # warm-up: pools, tokenizers, router
        via = drive.run(targets, script, args.connections, args.seconds)
        base = direct[mode]
        rows[mode] = {"server": "costroute", "replicas": replicas, "rps": via.rps, "p50_ms": via.p50_ms,
                      "p99_ms": via.p99_ms, "overhead_p50_ms": via.p50_ms - base.p50_ms,
                      "overhead_p99_ms": via.p99_ms - base.p99_ms, "requests": via.requests,
                      "non_2xx": via.non_2xx, "socket_errors": via.socket_errors,
                      "direct_rps": base.rps, "direct_p50_ms": base.p50_ms,
                      "direct_p99_ms": base.p99_ms}
    return rows


def measure_litellm(cluster: Cluster, executable: Path, replicas: int,
                    args: argparse.Namespace,
                    direct: dict[str, drive.Result]) -> dict[str, dict[str, Any]]:
    """The same cells for the LiteLLM proxy: `replicas` proxies, each one process, one model
    in front of the same stub. It has no `auto` router and keeps no shared budget state, so
    only passthrough traffic is compared and it does less work per request than costroute."""
    with ExitStack() as stack:
        proxies = [stack.enter_context(LiteLLMProxy(executable, cluster.workdir,
                                                    cluster.stub_port, master_key=KEY))
                   for _ in range(replicas)]
        urls = [p.url for p in proxies]
        targets = urls if replicas > 1 else urls * 2
        rows: dict[str, dict[str, Any]] = {}
        for mode in ("non-stream", "stream"):
            script = drive.lua_script([args.modes[mode]], auth=True)
            drive.run(targets, script, args.connections, 2)
            via = drive.run(targets, script, args.connections, args.seconds)
            base = direct[mode]
            rows[mode] = {"server": f"LiteLLM {version(executable)}", "replicas": replicas,
                          "rps": via.rps, "p50_ms": via.p50_ms, "p99_ms": via.p99_ms,
                          "overhead_p50_ms": via.p50_ms - base.p50_ms,
                          "overhead_p99_ms": via.p99_ms - base.p99_ms,
                          "requests": via.requests, "non_2xx": via.non_2xx,
                          "socket_errors": via.socket_errors, "direct_rps": base.rps,
                          "direct_p50_ms": base.p50_ms, "direct_p99_ms": base.p99_ms}
    return rows


def soak(cluster: Cluster, args: argparse.Namespace) -> dict[str, Any]:
    """Mixed traffic to replica 1 for `--soak-seconds`, RSS sampled throughout."""
    pid = cluster.gateways[0].pid
    script = drive.lua_script(list(args.modes.values()), auth=True)
    with Sampler(lambda: rss_mb(pid), args.sample_every) as sampler:
        result = drive.run([cluster.chat_url(cluster.gateway_ports[0])], script,
                           args.soak_connections, args.soak_seconds)
    times = [t for t, _ in sampler.samples]
    rss = [r for _, r in sampler.samples]
    verdict = flatness(times, rss, min(args.warmup_s, args.soak_seconds / 3))
    return {"samples": sampler.samples, "verdict": verdict, "requests": result.requests,
            "rps": result.rps, "errors": result.errors}


def report(rows: list[dict[str, Any]], soaked: dict[str, Any], args: argparse.Namespace,
           route: str, load_before: str) -> None:
    print(f"# command: .venv/bin/python bench/load/run.py {shlex.join(sys.argv[1:])}")
    print(f"# machine: {machine()}")
    print(f"# load average (1/5/15 min): {load_before} before, {load_average()} after")
    prompts = "a new question each time" if args.fresh_auto_prompts else "one repeated prompt"
    print(f"# auto route: {route} ({prompts}); store: one Redis shared by the replicas; "
          "upstream: stub")
    print(f"# {args.connections} connections over 2 wrk processes, {args.seconds} s per cell")
    print("| server | mode | replicas | rps | p50 | p99 | direct p50 | overhead p50 "
          "| overhead p99 | non-2xx | socket errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['server']} | {r['mode']} | {r['replicas']} | {r['rps']:.0f} "
              f"| {r['p50_ms']:.2f} ms "
              f"| {r['p99_ms']:.2f} ms | {r['direct_p50_ms']:.2f} ms "
              f"| {r['overhead_p50_ms']:.2f} ms | {r['overhead_p99_ms']:.2f} ms "
              f"| {r['non_2xx']} | {r['socket_errors']} |")
    for server in dict.fromkeys(r["server"] for r in rows):
        one = {r["mode"]: r["rps"] for r in rows if r["replicas"] == 1 and r["server"] == server}
        two = {r["mode"]: r["rps"] for r in rows if r["replicas"] == 2 and r["server"] == server}
        ratios = ", ".join(f"{m} {two[m] / max(one[m], 1e-9):.2f}" for m in one if m in two)
        print(f"{server} scaling ratio RPS(2 replicas) / RPS(1 replica): {ratios}")
    gateway = {(r["mode"], r["replicas"]): r for r in rows if r["server"] == "costroute"}
    for r in rows:
        if r["server"] != "costroute" and (r["mode"], r["replicas"]) in gateway:
            ours = gateway[(r["mode"], r["replicas"])]
            ratio = (f"{ours['rps'] / r['rps']:.1f}x" if r["rps"] >= 1
                     else f"n/a ({r['server']} completed {r['requests']} requests)")
            print(f"costroute / {r['server']} RPS, {r['mode']}, {r['replicas']} replica(s): "
                  f"{ratio}")
    series = ", ".join(f"{t:.0f}s:{rss:.1f}" for t, rss in soaked["samples"])
    print(f"soak: {args.soak_seconds} s mixed traffic at {args.soak_connections} connections, "
          f"{soaked['requests']} requests ({soaked['rps']:.0f} rps), {soaked['errors']} errors")
    print(f"soak RSS MiB every {args.sample_every:g} s: {series}")
    print(f"soak RSS: {soaked['verdict'].describe()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds per cell")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--soak-seconds", type=int, default=600)
    parser.add_argument("--soak-connections", type=int, default=8)
    parser.add_argument("--sample-every", type=float, default=10.0, help="RSS sample period")
    parser.add_argument("--warmup-s", type=float, default=60.0,
                        help="soak seconds left out of the flatness fit")
    parser.add_argument("--knn-artifact", type=Path, default=None,
                        help="route `auto` with this k-NN artifact (default: table router)")
    parser.add_argument("--litellm", type=Path, default=None,
                        help="litellm executable to compare with (default: .bench/litellm, "
                             "made by bench/peers/setup_litellm.sh, if present)")
    parser.add_argument("--fresh-auto-prompts", action="store_true",
                        help="every `auto` request asks a new question, so each one runs "
                             "MiniLM (default: one repeated prompt, an embedding cache hit)")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM cells")
    args = parser.parse_args()
    args.modes = ({**MODES, "auto": fresh_auto(MODES["auto"])} if args.fresh_auto_prompts
                  else MODES)
    litellm = None if args.no_litellm else find_litellm(args.litellm)
    load_before = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="costroute-load-"))
    cluster = Cluster(workdir, args.knn_artifact).start()
    try:
        direct = {mode: drive.run([cluster.direct_url] * 2, drive.lua_script([body], False),
                                  args.connections, args.seconds)
                  for mode, body in args.modes.items()}
        rows = [{"mode": m, **r} for m, r in measure(cluster, 1, args, direct).items()]
        soaked = soak(cluster, args)
        rows += [{"mode": m, **r} for m, r in measure(cluster, 2, args, direct).items()]
        if litellm is not None:
            for replicas in (1, 2):
                rows += [{"mode": m, **r} for m, r in
                         measure_litellm(cluster, litellm, replicas, args, direct).items()]
    finally:
        cluster.close()
    report(rows, soaked, args, cluster.route_description, load_before)
    if litellm is None:
        print("LiteLLM not measured: run bench/peers/setup_litellm.sh or pass --litellm")
    (workdir / "results.json").write_text(json.dumps(
        {"rows": rows, "soak": {**soaked, "verdict": soaked["verdict"].__dict__}}, indent=2))
    print(f"# raw results: {workdir / 'results.json'}")


if __name__ == "__main__":
    main()
