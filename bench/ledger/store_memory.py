"""Memory of the in-process store alone over many settles, with a drainer into SQLite.

    python bench/ledger/store_memory.py [--settles 200000] [--rate 200]

Settles `--settles` requests through `InMemorySpendStore` (journal fsync'd, drained into
SQLite every 1,000 and compacted past it), with a clock advancing 1/`--rate` s per settle so
that settled markers expire as they would at that request rate. Prints, every tenth of the
run, the Python heap the process holds (tracemalloc), the store's settled markers and the
journal's size: the gateway soak (bench/ledger/soak.py) measures RSS of everything, this is
the store's share.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway.ledger.base import BudgetWindow, SpendRecord
from gateway.ledger.memory import InMemorySpendStore
from gateway.records.spend_drainer import open_spend_drainer
from gateway.records.sqlite import SQLiteRecordStore

WINDOWS = (BudgetWindow("month", "month:2026-11", 1e9, "2026-12-01T00:00:00+00:00"),
           BudgetWindow("day", "day:2026-11-03", 1e9, "2026-11-04T00:00:00+00:00"))


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def run(settles: int, rate: float, workdir: Path) -> None:
    clock = Clock()
    journal = workdir / "spend.jsonl"
    store = InMemorySpendStore(journal, clock=clock, compact_bytes=16 << 20)
    history = SQLiteRecordStore(workdir / "records.sqlite3")
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None
    tracemalloc.start()
    for i in range(settles):
        request_id = f"req_{i:032x}"
        hold = await store.reserve("bench", request_id, 0.0123, WINDOWS, 60.0)
        await store.settle(hold, 0.0071, SpendRecord("bench", request_id, "gpt-4o-mini",
                                                     "auto", 0.0071, 812, 164))
        clock.now += 1 / rate
        if i % 1000 == 999:
            await drainer.drain()
        if (i + 1) % (settles // 10) == 0:
            held, _ = tracemalloc.get_traced_memory()
            print(f"{i + 1:8d} settles ({clock.now:6.0f} s at {rate:.0f}/s): Python heap "
                  f"{held / 2**20:6.2f} MiB, {store.settled_markers():6d} markers, journal "
                  f"{journal.stat().st_size / 2**20:5.1f} MiB", flush=True)
    await store.close()
    await history.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settles", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    print("loadavg: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as workdir:
        asyncio.run(run(args.settles, args.rate, Path(workdir)))


if __name__ == "__main__":
    main()
