"""The code verifier's cost per answer: a sandbox worker started per answer (before) against
the warm SandboxPool the gateway's cascade now keeps.

    .venv/bin/python bench/cascade/verifier_pool.py [--answers 60]

Both run the same MBPP-style answer (a function and two asserts) in a fresh forked child of
the worker, under the same limits; only the worker's start differs. Prints wall p50/p90 per
answer and the CPU per answer of this process, the workers and their children, in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.machine import machine
from routers.cascade.live import live_verifier_features
from routers.cascade.verifier import SandboxPool

ANSWER = "```python\ndef add(a, b):\n    return a + b\n```"
PROMPT = "Write add.\nassert add(1, 2) == 3\nassert add(2, 2) == 4"


def process_cpu_s(pid: int) -> float:
    """utime + stime of `pid` and of the children it waited for (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_s(pool: SandboxPool) -> float:
    """This process's and its waited children's CPU, plus the pool's live workers'."""
    mine = os.times()
    workers = sum(process_cpu_s(s._process.pid) for s in pool._idle)
    return mine.user + mine.system + mine.children_user + mine.children_system + workers


def timed(run: Callable[[], object], n: int, pool: SandboxPool) -> tuple[list[float], float]:
    before = cpu_s(pool)
    walls = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        walls.append((time.perf_counter() - start) * 1e3)
    return walls, (cpu_s(pool) - before) * 1e3 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=60)
    args = parser.parse_args()
    print(f"command: python bench/cascade/verifier_pool.py --answers {args.answers}")
    print(machine())
    pool = SandboxPool(size=1)
    pool.run("x = 1")  # the pool's worker starts once, before timing: it stays warm
    rows = [("a worker per answer (before)", lambda: live_verifier_features(ANSWER, PROMPT)),
            ("warm SandboxPool", lambda: live_verifier_features(ANSWER, PROMPT, pool))]
    for name, run in rows * 2:  # twice, interleaved: a shared machine's load hits both
        walls, cpu = timed(run, args.answers // 2, pool)
        walls.sort()
        print(f"  {name:30s} wall p50 {statistics.median(walls):6.1f} ms  "
              f"p90 {walls[int(0.9 * (len(walls) - 1))]:6.1f} ms  CPU {cpu:5.1f} ms/answer")
    pool.close()


if __name__ == "__main__":
    main()
