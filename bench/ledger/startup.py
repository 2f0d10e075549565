"""Start-up of the in-process store over a long spend history: before and after snapshots.

    python bench/ledger/startup.py [--entries 1000000] [--before /work/main] [--out FILE]

Writes a journal of `--entries` settled requests (one tenant, a day and a month window, the
gateway's own line format), then times `InMemorySpendStore(journal)` in a fresh process and
reads its peak RSS, for:

  before        the code at `--before` (a checkout without snapshots): replays every line
                and keeps every entry in memory
  first start   this code on the same journal with no snapshot: replays every line once,
                keeps none, and writes a snapshot
  next start    this code again: the snapshot plus the lines after it
  compacted     this code after a drainer copied the history to SQLite and the journal was
                compacted: the file holds a header and the undrained tail

Each start checks that the counters equal the journal's total.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gateway.ledger.base import BudgetWindow, SettledEntry, SpendRecord
from gateway.ledger.entries import encode_entry

WINDOWS = (BudgetWindow("month", "month:2026-11", 1e9, "2026-12-01T00:00:00+00:00"),
           BudgetWindow("day", "day:2026-11-03", 1e9, "2026-11-04T00:00:00+00:00"))

# Run in a fresh interpreter so that memory is the store's alone. Prints seconds, the RSS
# the store added once built (MiB, over the interpreter with the imports), its peak, spent.
PROBE = """
import asyncio, sys, time
sys.path.insert(0, sys.argv[1])
from gateway.ledger.base import BudgetWindow
from gateway.ledger.memory import InMemorySpendStore
def status(field):
    line = next(x for x in open("/proc/self/status") if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024
base = status("VmRSS")
started = time.perf_counter()
store = InMemorySpendStore(sys.argv[2])
seconds = time.perf_counter() - started
w = BudgetWindow("month", "month:2026-11", 1e9, "2026-12-01T00:00:00+00:00")
[state] = asyncio.run(store.state("bench", [w]))
print(seconds, status("VmRSS") - base, status("VmHWM") - base, state.spent_nanos)
"""


def write_journal(path: Path, entries: int) -> int:
    """`entries` lines of 1..7 micro-dollars each; their total in nano-dollars."""
    total = 0
    with open(path, "wb") as handle:
        for i in range(entries):
            nanos = (i % 7 + 1) * 1000
            record = SpendRecord("bench", f"req_{i:032x}", "gpt-4o-mini", "auto",
                                 nanos / 1e9, 812, 164, "en")
            entry = SettledEntry(record, "2026-11-03T12:00:00.000000+00:00",
                                 tuple(w.key for w in WINDOWS), nanos)
            handle.write(encode_entry(entry) + b"\n")
            total += nanos
    return total


def probe(code_root: Path, journal: Path, total: int, label: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE, str(code_root), str(journal)],
                         capture_output=True, text=True, check=True, cwd=code_root).stdout
    seconds, held, peak, spent = out.split()
    assert int(spent) == total, f"{label}: counters {spent} != journal total {total}"
    size = journal.stat().st_size / 2**20
    line = f"{label:<12} {float(seconds):8.2f} s   RSS +{float(held):7.1f} MiB held, " \
           f"+{float(peak):7.1f} MiB peak   journal {size:7.1f} MiB"
    print(line, flush=True)
    return line


async def drain_and_compact(journal: Path, records: Path) -> None:
    from gateway.ledger.memory import InMemorySpendStore
    from gateway.records.spend_drainer import open_spend_drainer
    from gateway.records.sqlite import SQLiteRecordStore

    store = InMemorySpendStore(journal)
    history = SQLiteRecordStore(records)
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None
    drainer.batch_size = 5000
    started = time.perf_counter()
    drained = await drainer.drain()
    print(f"drained {drained} entries into SQLite in {time.perf_counter() - started:.1f} s",
          flush=True)
    assert await store.compact()
    await store.close()
    await history.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of the code before snapshots (e.g. /work/main)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: tmp)")
    args = parser.parse_args()
    print("command: python " + " ".join(sys.argv))
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: nproc={os.cpu_count()} python={platform.python_version()} loadavg={load}")
    with tempfile.TemporaryDirectory(dir=args.dir) as workdir:
        journal = Path(workdir) / "spend.jsonl"
        started = time.perf_counter()
        total = write_journal(journal, args.entries)
        print(f"wrote {args.entries} entries in {time.perf_counter() - started:.1f} s", flush=True)
        if args.before is not None:
            probe(args.before, journal, total, "before")
        probe(ROOT, journal, total, "first start")
        probe(ROOT, journal, total, "next start")
        asyncio.run(drain_and_compact(journal, Path(workdir) / "records.sqlite3"))
        probe(ROOT, journal, total, "compacted")
    print("loadavg after: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
