"""Same-run A/B of costroute's CPU per request: this tree against another, rounds taking turns.

Lighter than `run.py --before` (no floor, no TTFB or RSS probes): one stub, the two gateways
with their spend logs on /dev/shm (the disk's fsync latency apart), and for each of plain and
streaming at 1 and 32 connections `--rounds` wrk runs per gateway, alternating, so that a
shared machine's load hits both alike. Prints each cell's median CPU ms/request, p50 and rps,
and the after/before ratio of every round (their spread is the run's noise).
Run: python bench/overhead/ab.py BEFORE_TREE [--rounds 4] [--seconds 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.overhead.probes import cpu_seconds, wrk
from bench.overhead.run import BODY, KEY, SHM, _gateway, _stub, write_config
from tests.servers import free_port, wait_for_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("before", type=Path, help="the other costroute tree")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="costroute-ab-"))
    journals = Path(tempfile.mkdtemp(prefix="costroute-ab-", dir=SHM if SHM.is_dir() else None))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    print(f"load average before: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, journals, True)
        up_port = _stub(stack, env)
        targets: dict[str, tuple[str, int]] = {}
        for name, tree in (("after", REPO), ("before", args.before.resolve())):
            port = free_port()
            config = write_config(workdir, up_port, name, journal_dir=journals)
            proc = _gateway(stack, tree, config, port, workdir, name)
            wait_for_port(port, timeout=120, proc=proc)
            targets[name] = (f"http://127.0.0.1:{port}/v1/chat/completions", proc.pid)
        for url, _ in targets.values():  # warm-up: tokenizers, pools, the language model
            wrk(url, BODY, 4, 2, KEY)
            wrk(url, {**BODY, "stream": True}, 4, 1, KEY)
        for stream in (False, True):
            body = {**BODY, "stream": True} if stream else BODY
            for conns in (1, 32):
                cpu: dict[str, list[float]] = {name: [] for name in targets}
                p50: dict[str, list[float]] = {name: [] for name in targets}
                rps: dict[str, list[float]] = {name: [] for name in targets}
                for _ in range(args.rounds):
                    for name, (url, pid) in targets.items():
                        start = cpu_seconds(pid)
                        result = wrk(url, body, conns, args.seconds, KEY)
                        cpu[name].append((cpu_seconds(pid) - start) * 1000
                                         / max(result["requests"], 1))
                        p50[name].append(result["p50_ms"])
                        rps[name].append(result["rps"])
                med = {name: statistics.median(values) for name, values in cpu.items()}
                rounds = [round(a / b, 2) for a, b in zip(cpu["after"], cpu["before"],
                                                          strict=True)]
                print(f"{'stream' if stream else 'plain'} c{conns}: CPU ms/req before "
                      f"{med['before']:.3f} after {med['after']:.3f} (after/before "
                      f"{med['after'] / med['before']:.2f}); p50 ms "
                      f"{statistics.median(p50['before']):.2f} -> "
                      f"{statistics.median(p50['after']):.2f}; rps "
                      f"{statistics.median(rps['before']):.0f} -> "
                      f"{statistics.median(rps['after']):.0f}; per round {rounds}")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
