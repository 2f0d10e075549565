"""What the request id's layout costs the spend history: random ids against time-first ids.

    .venv/bin/python bench/records/request_ids.py [--history 300000] [--batch 175]

For each layout, a fresh SQLite records database (as `costroute serve` keeps one) is filled
with `--history` settled spend rows through the drainer's own write (`store_spend_sqlite`,
5,000 rows a transaction), reopened, and then 40 drain batches of `--batch` rows (what the
drainer copies every 0.25 s at ~700 requests/s) are stored and timed: CPU and wall per
row, and the read and write system calls per row (/proc/self/io). Layouts:

    random      req_ + 32 random hex digits (the layout before)
    time-first  req_ + 12 hex digits of unix milliseconds + 20 random hex digits (now:
                gateway.middleware.new_request_id)

Results: bench/results/records/request_ids.txt.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.machine import machine
from gateway.ledger.base import SettledEntry, SpendRecord
from gateway.ledger.entries import utc_now_iso
from gateway.middleware import new_request_id
from gateway.records.spend_sql import store_spend_sqlite, unique_sorted
from gateway.records.sqlite import connect_sqlite

FILL_BATCH = 5000
TIMED_BATCHES = 40


def random_id() -> str:
    return "req_" + os.urandom(16).hex()


def time_first_id() -> str:
    return new_request_id().decode()


def entries(n: int, make_id: Callable[[], str]) -> list[SettledEntry]:
    extra = {"estimated": False, "requested_model": "gpt-4o-mini", "reason": "passthrough"}
    return [SettledEntry(SpendRecord("bench", make_id(), "gpt-4o-mini", "gpt-4o-mini",
                                     0.000123, 20, 30, "en", False, "remote", extra),
                         utc_now_iso(), ("month:2026-12",), 123_000) for _ in range(n)]


def io_calls() -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["syscr"]), int(fields["syscw"])


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, make_id: Callable[[], str], history: int, batch: int) -> str:
    folder = Path(tempfile.mkdtemp(prefix="costroute-ids-"))
    try:
        conn = connect_sqlite(folder / "records.sqlite3", synchronous="NORMAL")
        conn.isolation_level = None
        for done in range(0, history, FILL_BATCH):
            store_spend_sqlite(conn, unique_sorted(entries(min(FILL_BATCH, history - done),
                                                           make_id)))
            print(f"  {name}: filling the history, {done + FILL_BATCH:,} of {history:,} rows",
                  end="\r", file=sys.stderr)
        print(file=sys.stderr)
        conn.close()
        conn = connect_sqlite(folder / "records.sqlite3", synchronous="NORMAL")
        conn.isolation_level = None
        batches = [unique_sorted(entries(batch, make_id)) for _ in range(TIMED_BATCHES)]
        reads, writes = io_calls()
        cpu, wall = cpu_s(), time.perf_counter()
        for rows in batches:
            store_spend_sqlite(conn, rows)
        cpu, wall = cpu_s() - cpu, time.perf_counter() - wall
        reads, writes = (a - b for a, b in zip(io_calls(), (reads, writes), strict=True))
        conn.close()
        n = batch * TIMED_BATCHES
        return (f"| {name} | {1e6 * cpu / n:.1f} | {1e6 * wall / n:.1f} | {reads / n:.2f} | "
                f"{writes / n:.2f} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=175)
    args = parser.parse_args()
    rows = [measure(name, make, args.history, args.batch)
            for name, make in (("random", random_id), ("time-first", time_first_id))]
    print(f"command: python bench/records/request_ids.py --history {args.history} "
          f"--batch {args.batch}")
    print(machine())
    print(f"\nStoring drain batches of {args.batch} spend rows into a SQLite history of "
          f"{args.history:,} rows ({TIMED_BATCHES} batches):\n")
    print("| request ids | CPU µs/row | wall µs/row | read calls/row | write calls/row |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
