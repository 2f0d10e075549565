"""Why costroute costs more CPU per request at concurrency 1 than at 32: the system calls.

    .venv/bin/python bench/overhead/syscalls.py [--seconds 4]

Starts the stub, costroute (spend log on disk, and on tmpfs) and the two aiohttp forwarders
as bench/overhead/run.py does, drives each with wrk at 1 connection (plain), and counts each
server's system calls with `strace -f -c` (every thread) over the run: calls per request by
name, and the share of calls strace timed in each. strace slows the server, so this run's
rates say nothing; only the counts per request are read from it. The same CPU per request,
without strace, is in run.py's table.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from bench.overhead.probes import wrk
from bench.overhead.run import BODY, KEY, SHM, _gateway, _spawn, _stub, write_config
from tests.servers import free_port, wait_for_port

SHOWN = ("futex", "epoll_pwait", "write", "read", "pwrite64", "pread64", "fsync", "fdatasync",
         "getrandom", "sendto", "recvfrom", "writev")
_ROW = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$")


def parse_strace(text: str) -> dict[str, int]:
    """`strace -c` summary -> calls per syscall."""
    calls: dict[str, int] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match and match.group(6) != "total":
            calls[match.group(6)] = int(match.group(4))
    return calls


def counted(url: str, pid: int, key: str | None, seconds: int, out: Path) -> tuple[float, dict[str, int]]:
    wrk(url, BODY, 4, 2, key)  # warm-up: tokenizers, pools, the language model
    if shutil.which("strace") is None:
        raise SystemExit("strace is not installed: sudo apt-get install -y strace")
    tracer = subprocess.Popen(["strace", "-f", "-c", "-o", str(out), "-p", str(pid)],
                              stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # strace attaches to every thread first
    requests = wrk(url, BODY, 1, seconds, key)["requests"]
    tracer.send_signal(2)
    tracer.wait(30)
    return requests, parse_strace(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    print(f"# command: python bench/overhead/syscalls.py --seconds {args.seconds}")
    print(f"# {machine()}")
    workdir = Path(tempfile.mkdtemp(prefix="costroute-syscalls-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    rows: list[tuple[str, float, dict[str, int]]] = []
    with ExitStack() as stack:
        up = _stub(stack, env)
        shm = Path(tempfile.mkdtemp(prefix="costroute-syscalls-", dir=SHM if SHM.is_dir() else None))
        targets = [("costroute", workdir, KEY), ("costroute, spend log on tmpfs", shm, KEY),
                   ("forwarder aiohttp (floor)", None, None),
                   ("forwarder httpx-over-aiohttp", None, None)]
        for name, journal_dir, key in targets:
            port = free_port()
            if journal_dir is not None:
                slug = name.replace(" ", "-").replace(",", "")
                proc = _gateway(stack, REPO, write_config(workdir, up, slug, journal_dir=journal_dir),
                                port, workdir, slug)
            else:
                client = "aiohttp" if "floor" in name else "aiohttp-transport"
                proc = _spawn(stack, [sys.executable, str(REPO / "bench/overhead/forwarder.py"),
                                      str(port), str(up), "--client", client], env)
            wait_for_port(port, timeout=120, proc=proc)
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            requests, calls = counted(url, proc.pid, key, args.seconds,
                                      workdir / f"strace-{port}.txt")
            rows.append((name, requests, calls))
    names = [n for n in SHOWN if any(n in calls for _, _, calls in rows)]
    print("\nSystem calls per request at concurrency 1, plain (strace -f -c, all threads):\n")
    print("| server | " + " | ".join(names) + " | all |")
    print("|---|" + "---|" * (len(names) + 1))
    for name, requests, calls in rows:
        per = [calls.get(n, 0) / max(requests, 1) for n in names]
        total = sum(calls.values()) / max(requests, 1)
        print(f"| {name} | " + " | ".join(f"{x:.2f}" for x in per) + f" | {total:.1f} |")


if __name__ == "__main__":
    main()
