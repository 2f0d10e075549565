"""Which thread of the gateway spends its CPU: per-thread utime + stime from /proc, per request.

py-spy's wall samples count a thread waiting in a system call (the spend log's fsync, SQLite's
file I/O) as busy, so a flame graph overstates the background threads. This reads what each
thread was actually charged while wrk drives one cell, and names the threads from one
`py-spy dump` (Python 3.11 gives its threads no OS names). Starts the stub and costroute as
bench/overhead/run.py does (access log on, spend log on disk).
Run: python bench/overhead/threads.py [--seconds 8]   (needs py-spy on PATH and wrk)
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from bench.overhead.probes import wrk
from bench.overhead.profile import pyspy_path
from bench.overhead.run import BODY, KEY, _serving

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
_THREAD = re.compile(r'^Thread (\d+|0x[0-9a-fA-F]+) \([^)]*\): "([^"]*)"', re.MULTILINE)


def cpu_by_thread(pid: int) -> dict[int, float]:
    """Thread id -> CPU seconds so far (utime + stime)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) * TICK_S
    return out


def thread_names(pid: int) -> dict[int, str]:
    """Thread id -> Python thread name, from `py-spy dump` (it prints the OS thread ids)."""
    dump = subprocess.run([pyspy_path(), "dump", "--pid", str(pid)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    names = {}
    for ident, name in _THREAD.findall(dump):
        names[int(ident, 0)] = name
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    print(f"# command: python bench/overhead/threads.py --seconds {args.seconds}")
    print(f"# {machine()}")
    workdir = Path(tempfile.mkdtemp(prefix="costroute-threads-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with ExitStack() as stack:
        gw, url = _serving(stack, workdir, "threads", env)
        wrk(url, BODY, 4, 2, KEY)  # warm up: every thread has started
        names = thread_names(gw.pid)
        print("| cell | rps | all threads | MainThread (event loop) | spend log writer "
              "| records SQLite | other |  (CPU ms per request)")
        print("|---|---|---|---|---|---|---|")
        for stream in (False, True):
            for conns in (1, 32):
                before = cpu_by_thread(gw.pid)
                result = wrk(url, {**BODY, "stream": True} if stream else BODY, conns,
                             args.seconds, KEY)
                after = cpu_by_thread(gw.pid)
                requests = max(result["rps"] * args.seconds, 1.0)
                parts: collections.Counter[str] = collections.Counter()
                for tid, seconds in after.items():
                    parts[_part(names.get(tid, "?"), tid == gw.pid)] += (
                        seconds - before.get(tid, 0.0))
                cell = f"{'stream' if stream else 'plain'} c{conns}"
                row = [1000 * parts[p] / requests for p in ("main", "journal", "sqlite",
                                                             "other")]
                total = 1000 * sum(parts.values()) / requests
                print(f"| {cell} | {result['rps']:.0f} | {total:.3f} | "
                      + " | ".join(f"{x:.3f}" for x in row) + " |", flush=True)
        print(f"# threads seen: {sorted(set(names.values()))}")
    print(f"# load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _part(name: str, main: bool) -> str:
    if main or name == "MainThread":
        return "main"
    if "journal" in name or "spend" in name:
        return "journal"
    if "sqlite" in name:
        return "sqlite"
    return "other"


if __name__ == "__main__":
    main()
