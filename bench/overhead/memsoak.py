"""Where a long soak's RSS goes: Python objects, or native memory?

`run.py --soak` says whether RSS is flat; this says what grows when it is not. It serves
costroute (run.py's config: the stub upstream, the in-process store with its spend log,
the records database in its own data dir) under wrk at 32 connections and, inside the
gateway process, samples every `--every` seconds: RSS (anonymous and file-backed), the
allocator's live blocks (`sys.getallocatedblocks`: every Python object, tracked by the GC
or not) and the GC's objects by type against the sample taken after `--warmup` seconds.
Flat blocks with a growing RSS point to native memory (SQLite, the allocator); growing
blocks to a Python-level leak, and the type table says which.

Run: python bench/overhead/memsoak.py [--seconds 1500] [--every 150] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from bench.overhead.probes import wrk
from bench.overhead.run import BODY, KEY, _spawn, _stub, write_config
from tests.servers import free_port, wait_for_port

# Runs inside the gateway process: a daemon thread that appends samples to MEMSOAK_OUT.
SAMPLER = '''
import collections, gc, os, sys, threading, time
def _status():
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields
def _types():
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())
def _sample(warmup, every, out):
    time.sleep(warmup)
    base, started = _types(), time.time()
    def line(tag, types):
        s = _status()
        return (f"{tag} rss {s['VmRSS']:.1f} MiB (anon {s['RssAnon']:.1f}, file {s['RssFile']:.1f})"
                f" blocks {sys.getallocatedblocks()} gc objects {sum(types.values())}")
    with open(out, "a") as f:
        f.write(line("t+0s", base) + "\\n")
    while True:
        time.sleep(every)
        types = _types()
        grown = sorted(((types[k] - base[k], k) for k in set(types) | set(base)), reverse=True)
        with open(out, "a") as f:
            f.write(line(f"t+{time.time() - started:.0f}s", types) + "\\n")
            f.write("   most grown: " + ", ".join(f"{k} {d:+d}" for d, k in grown[:5]) + "\\n")
threading.Thread(target=_sample, daemon=True, args=(
    float(os.environ["MEMSOAK_WARMUP"]), float(os.environ["MEMSOAK_EVERY"]),
    os.environ["MEMSOAK_OUT"])).start()
sys.argv = ["costroute", *sys.argv[1:]]
from gateway.cli import main
main()
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=1500)
    parser.add_argument("--every", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None, help="append the samples here too")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="costroute-memsoak-"))
    samples = workdir / "samples.txt"
    (workdir / "sampler.py").write_text(SAMPLER)
    print(f"# command: python bench/overhead/memsoak.py --seconds {args.seconds} --every "
          f"{args.every} --warmup {args.warmup}\n# {machine()}", flush=True)
    with ExitStack() as stack:
        up_port = _stub(stack, dict(os.environ))
        port = free_port()
        config = write_config(workdir, up_port, "memsoak")
        data = workdir / "data"
        data.mkdir()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO),
               "COSTROUTE_DATA_DIR": str(data), "MEMSOAK_OUT": str(samples),
               "MEMSOAK_WARMUP": str(args.warmup), "MEMSOAK_EVERY": str(args.every)}
        gateway = _spawn(stack, [sys.executable, str(workdir / "sampler.py"), "serve",
                                 "--config", str(config), "--port", str(port),
                                 "--log-level", "info"],
                         env, cwd=REPO, stderr=(workdir / "access.log").open("ab"))
        wait_for_port(port, proc=gateway)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        started, requests = time.time(), 0.0
        while time.time() - started < args.seconds:
            requests += wrk(url, BODY, 32, 30, KEY)["requests"]
            print(f"  {time.time() - started:5.0f} s: {requests:,.0f} requests", flush=True)
    text = samples.read_text() if samples.exists() else "(no samples)\n"
    print(f"{requests:,.0f} requests in {args.seconds} s\n{text}")
    if args.out:
        with args.out.open("a") as f:
            f.write(f"{requests:,.0f} requests in {args.seconds} s\n{text}")


if __name__ == "__main__":
    main()
