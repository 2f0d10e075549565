"""A separate process that settles on the in-process store and gets killed (for the tests).

    python -m tests.gateway.ledger.journal_worker DIR step STEP    SIGKILLs itself at STEP of
        a compaction (or its snapshot), after settling 40 requests, draining them into
        DIR/records.sqlite3 and settling 5 more
    python -m tests.gateway.ledger.journal_worker DIR run START    settles from request START
        on, 8 at a time, with a drainer and a snapshot and compaction every few KiB, until
        the test kills it

Prints `acked <request id> <nanos>` once each settle has returned (so: is durable).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from gateway.ledger.memory import InMemorySpendStore
from gateway.records.spend_drainer import open_spend_drainer
from gateway.records.sqlite import SQLiteRecordStore
from tests.gateway.ledger.helpers import record_for, window

WINDOWS = [window("month:2026-11", limit_usd=1e6), window("day:2026-11-03", limit_usd=1e6)]


async def settle(store: InMemorySpendStore, index: int) -> None:
    usd = (index + 1) * 1e-6
    hold = await store.reserve("acme", f"q{index}", usd, WINDOWS, 60.0)
    await store.settle(hold, usd, record_for(hold, usd))
    print(f"acked q{index} {(index + 1) * 1000}", flush=True)


def kill_at(step: str) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)
    return hook


async def crash_in_compaction(directory: Path, step: str) -> None:
    journal = directory / "spend.jsonl"
    store = InMemorySpendStore(journal, hook=kill_at(step))
    history = SQLiteRecordStore(directory / "records.sqlite3")
    for i in range(40):
        await settle(store, i)
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None
    await drainer.drain()
    for i in range(40, 45):
        await settle(store, i)
    await store.compact()
    print("compacted without reaching the step", flush=True)


async def run_until_killed(directory: Path, start: int) -> None:
    journal = directory / "spend.jsonl"
    store = InMemorySpendStore(journal, snapshot_bytes=2_000, compact_bytes=4_000)
    history = SQLiteRecordStore(directory / "records.sqlite3")
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None
    drainer.idle_s = 0.01
    drainer.start()
    index = start
    while True:
        await asyncio.gather(*(settle(store, i) for i in range(index, index + 8)))
        index += 8


if __name__ == "__main__":
    where, mode, arg = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    if mode == "step":
        asyncio.run(crash_in_compaction(where, arg))
    else:
        asyncio.run(run_until_killed(where, int(arg)))
