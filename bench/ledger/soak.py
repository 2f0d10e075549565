"""RSS of one gateway on the in-process store under steady load (issue 15: flat over a soak).

    python bench/ledger/soak.py [--seconds 600] [--connections 32] [--out FILE]

Starts the ~0 ms stub upstream and `costroute serve` with the default stores: the in-process
budget store (fsync'd journal) and SQLite records, so a drainer copies spend history out of
the journal and the journal is compacted. wrk drives plain chat completions in 10 s rounds;
RSS is read after each. Prints the samples, a least-squares fit of RSS over time after the
warm-up (bench/load/flatness.py) and over the second half alone, and the journal's size.

The warm-up is the in-process store's repeat-settle window: markers are kept one to two
TTLs (2 min by default), so the set fills for up to 4 minutes and then holds rate × TTL
markers. A round faster than any before it grows the set's high-water mark; each round's
rate is printed so that such a step can be told from a leak.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.load.flatness import flatness
from bench.machine import machine
from bench.overhead.probes import rss_mb, wrk
from bench.overhead.run import BODY, KEY, write_config
from bench.overhead.run import _spawn as spawn_stopped_at_exit
from tests.servers import free_port, wait_for_port

ROUND_S = 10
MARKER_WINDOW_S = 240.0  # two of InMemorySpendStore's default settled_ttl_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tree", type=Path, default=REPO, help="the code to serve")
    parser.add_argument("--out", type=Path, default=None, help="write the samples as JSON")
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    print(machine())
    workdir = Path(tempfile.mkdtemp(prefix="costroute-soak-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(args.tree),
           "COSTROUTE_DATA_DIR": str(workdir / "data")}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)  # last: after the processes stopped

        def spawn(argv: list[str], stderr: object = None) -> subprocess.Popen[bytes]:
            return spawn_stopped_at_exit(stack, argv, env, cwd=args.tree, stderr=stderr)

        up_port, port = free_port(), free_port()
        upstream = spawn([sys.executable, str(REPO / "bench/overhead/stub_upstream.py"),
                          str(up_port)])
        wait_for_port(up_port, proc=upstream)
        config = write_config(workdir, up_port, "soak")
        log = stack.enter_context((workdir / "gateway.log").open("ab"))
        gateway = spawn([sys.executable, "-m", "gateway.cli", "serve", "--config", str(config),
                         "--port", str(port), "--log-level", "warning"], stderr=log)
        wait_for_port(port, timeout=120, proc=gateway)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        wrk(url, BODY, 4, 2, KEY)  # warm-up: tokenizers, pools
        times, rss, requests, errors = [0.0], [rss_mb(gateway.pid)], 0.0, 0.0
        for i in range(max(1, args.seconds // ROUND_S)):
            run = wrk(url, BODY, args.connections, ROUND_S, KEY)
            requests += run["requests"]
            errors += run["errors"]
            times.append(float((i + 1) * ROUND_S))
            rss.append(rss_mb(gateway.pid))
            print(f"{times[-1]:5.0f} s  {rss[-1]:7.1f} MiB  {requests:9.0f} requests "
                  f"({run['requests'] / ROUND_S:5.0f}/s)", flush=True)
        journal = workdir / "spend-soak.jsonl"
        journal_mib = journal.stat().st_size / 2**20 if journal.exists() else 0.0
    # The whole marker window when the soak is long enough to fit well after it (a 600 s
    # soak once fitted from 200 s, inside a fast machine's fill, and read "growing").
    warmup = MARKER_WINDOW_S if args.seconds >= 2 * MARKER_WINDOW_S else args.seconds / 3
    whole = flatness(times, rss, warmup)
    half = flatness(times, rss, args.seconds / 2)
    print(f"{requests:.0f} requests ({errors:.0f} non-2xx), {requests / args.seconds:.0f}/s; "
          f"journal at the end {journal_mib:.1f} MiB")
    for name, fit in ((f"after {warmup:.0f} s", whole), ("second half", half)):
        print(f"fit {name}: RSS {fit.start_mib:.1f} -> {fit.end_mib:.1f} MiB, "
              f"slope {fit.slope_mib_per_h:+.1f} MiB/h, growth over the fit "
              f"{fit.growth_mib:+.2f} MiB (noise {fit.noise_mib:.2f}, tolerance "
              f"{fit.tolerance_mib:.2f}): {'flat' if fit.flat else 'GROWING'}")
    print("load after:", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    if args.out:
        args.out.write_text(json.dumps({"times_s": times, "rss_mib": rss,
                                        "requests": requests, "journal_mib": journal_mib},
                                       indent=2))


if __name__ == "__main__":
    main()
