"""Spend history on disk with and without `records.spend_retention_days` and
`spend_hourly_retention_days`, on SQLite.

Drains `--per-day` settled entries a day for `--days` days into three SQLite records files,
as the gateway's drainer does (batches of 500). One keeps every row; the second, after each
day, purges the per-request rows older than `--retain` days (what `SpendRetentionSweeper`
does hourly); the third also purges the hourly totals older than `--retain-hourly` days.
Prints the files' sizes and hourly-total rows per day, the purges' rows/s, and checks that
all three report the same all-time total (the daily totals stay).
Run: .venv/bin/python bench/records/spend_retention.py [--days 12] [--per-day 40000]
     [--retain 3] [--retain-hourly 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from gateway.ledger.base import SettledEntry, SpendRecord
from gateway.records.spend_history import SpendQuery
from gateway.records.spend_sql import DAY_S
from gateway.records.sqlite import SQLiteRecordStore

START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
BATCH = 500


def day_entries(rng: random.Random, day: int, n: int) -> list[SettledEntry]:
    """`n` entries spread over day `day`, shaped like the gateway's (ids, extra, windows)."""
    out = []
    for i in range(n):
        at = START + day * DAY_S + (i + rng.random()) * DAY_S / n
        record = SpendRecord(
            tenant=rng.choice(["acme", "globex", "initech"]), request_id=f"req_{day}_{i:08d}",
            model=rng.choice(["gpt-4o", "gpt-4o-mini", "claude-3-haiku"]),
            route=rng.choice(["auto", "router:cascade", "gpt-4o-mini"]), cost_usd=0.0,
            prompt_tokens=rng.randrange(20, 2000), completion_tokens=rng.randrange(10, 800),
            language=rng.choice(["en", "en", "de", "hi"]),
            extra={"estimated": False, "held_usd": 0.0125, "stage": 0,
                   "client_request_id": f"c-{rng.getrandbits(64):016x}"})
        month = datetime.fromtimestamp(at, UTC).strftime("%Y-%m")
        out.append(SettledEntry(record, datetime.fromtimestamp(at, UTC).isoformat(),
                                (f"month:{month}",), rng.randrange(1_000, 5_000_000)))
    return out


def size_mib(path: Path) -> float:
    wal = path.with_name(path.name + "-wal")
    return (path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 2**20


async def hourly_rows(store: SQLiteRecordStore) -> int:
    return int((await store._fetch("SELECT COUNT(*) FROM spend_hourly"))[0][0])


async def run(days: int, per_day: int, retain: float, retain_hourly: float,
              workdir: Path) -> None:
    keep_all = SQLiteRecordStore(workdir / "keep_all.sqlite3")
    retained = SQLiteRecordStore(workdir / "retained.sqlite3")
    hourly = SQLiteRecordStore(workdir / "retained_hourly.sqlite3")
    stores = (keep_all, retained, hourly)
    rng = random.Random(7)
    purged_rows, purge_s, purged_hours, hourly_s = 0, 0.0, 0, 0.0
    print(f"{'day':>4} {'keep all MiB':>13} {'retained MiB':>13} {'+hourly MiB':>12} "
          f"{'rows purged':>12} {'hourly rows':>12} {'(+hourly)':>10}")
    for day in range(days):
        entries = day_entries(rng, day, per_day)
        for start in range(0, len(entries), BATCH):
            batch = entries[start:start + BATCH]
            for store in stores:
                await store.write_spend(batch)
        now = START + (day + 1) * DAY_S
        began = time.perf_counter()
        rows = await retained.purge_spend(now - retain * DAY_S)
        purge_s += time.perf_counter() - began
        purged_rows += rows
        await hourly.purge_spend(now - retain * DAY_S)
        began = time.perf_counter()
        purged_hours += await hourly.purge_spend_hourly(now - retain_hourly * DAY_S)
        hourly_s += time.perf_counter() - began
        print(f"{day + 1:>4} {size_mib(keep_all.path):>13.1f} {size_mib(retained.path):>13.1f}"
              f" {size_mib(hourly.path):>12.1f} {rows:>12,} {await hourly_rows(retained):>12,}"
              f" {await hourly_rows(hourly):>10,}", flush=True)
    totals = []
    for store in stores:
        groups = await store.spend_groups(SpendQuery("acme"))
        totals.append((groups[0].requests, groups[0].cost_nanos))
        await store.aclose()
    print(f"purge: {purged_rows:,} rows in {purge_s:.2f} s "
          f"({purged_rows / max(purge_s, 1e-9):,.0f} rows/s); hourly totals: "
          f"{purged_hours:,} rows in {hourly_s:.2f} s "
          f"({purged_hours / max(hourly_s, 1e-9):,.0f} rows/s)")
    print(f"acme all-time total, keep all / retained / +hourly: {totals[0]} / {totals[1]} / "
          f"{totals[2]}: {'equal' if len(set(totals)) == 1 else 'DIFFERENT'}")
    per_row = size_mib(keep_all.path) * 2**20 / (days * per_day)
    print(f"keep all: {per_row:.0f} bytes per request on disk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=12)
    parser.add_argument("--per-day", type=int, default=40_000)
    parser.add_argument("--retain", type=float, default=3.0)
    parser.add_argument("--retain-hourly", type=float, default=5.0)
    args = parser.parse_args()
    print(f"# command: python bench/records/spend_retention.py --days {args.days} "
          f"--per-day {args.per_day} --retain {args.retain} --retain-hourly {args.retain_hourly}")
    print(f"# {machine()}")
    with tempfile.TemporaryDirectory(prefix="costroute-spend-retention-") as tmp:
        asyncio.run(run(args.days, args.per_day, args.retain, args.retain_hourly,
                        Path(tmp)))
    print(f"# load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
