"""The in-process store's bounded memory, snapshots and journal compaction (issues 15, 17).

Real files, a real SQLite spend history, and real SIGKILLs of a worker process at each step
of a compaction and at random points of a busy run: after each, the counters restart equal
to what was acknowledged, and the database ends up with every request exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.ledger.journal import SpendJournal, read_journal
from gateway.ledger.markers import SettledMarkers
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.report import summarize
from gateway.ledger.snapshot import compaction_path, snapshot_path
from gateway.records.spend_drainer import open_spend_drainer
from gateway.records.spend_history import SpendQuery
from gateway.records.sqlite import SQLiteRecordStore
from tests.gateway.ledger.helpers import record_for, window

ROOT = Path(__file__).resolve().parents[3]
WINDOWS = [window("month:2026-11", limit_usd=1e6), window("day:2026-11-03", limit_usd=1e6)]
STEPS = ["compact:written", "compact:renamed", "compact:synced", "snapshot:written"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(store: InMemorySpendStore, index: int, tenant: str = "acme") -> int:
    usd = (index + 1) * 1e-6
    hold = await store.reserve(tenant, f"q{index}", usd, WINDOWS, 60.0)
    await store.settle(hold, usd, record_for(hold, usd, model=f"m{index % 3}"))
    return (index + 1) * 1000


async def spent(store: InMemorySpendStore, tenant: str = "acme") -> list[int]:
    return [s.spent_nanos for s in await store.state(tenant, WINDOWS)]


async def stored(history: SQLiteRecordStore) -> tuple[int, int]:
    groups = await history.spend_groups(SpendQuery("acme"))
    return (groups[0].requests, groups[0].cost_nanos) if groups else (0, 0)


async def test_start_up_replays_only_the_lines_after_the_last_snapshot(tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    store = InMemorySpendStore(journal, snapshot_bytes=3_000)
    total = sum([await settle(store, i) for i in range(40)])
    await store.close()
    assert snapshot_path(journal).exists()

    tail = SpendJournal(journal).recover()
    assert 0 < len(tail) < 15, "the lines after the snapshot, not all 40"
    reopened = InMemorySpendStore(journal)
    assert await spent(reopened) == [total, total]
    assert len(await reopened.entries()) == 40, "history stays in the journal without a drainer"
    await reopened.close()


async def test_a_snapshot_of_another_generation_or_past_the_end_is_ignored(
        tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    store = InMemorySpendStore(journal, snapshot_bytes=1)
    total = sum([await settle(store, i) for i in range(5)])
    await store.close()
    snapshot = snapshot_path(journal)
    snapshot.write_bytes(snapshot.read_bytes().replace(b'"generation":0', b'"generation":7'))
    assert await spent(InMemorySpendStore(journal)) == [total, total]
    snapshot.write_bytes(b'{"generation":0,"offset":999999,"spent":[]}')
    assert await spent(InMemorySpendStore(journal)) == [total, total]
    snapshot.write_bytes(b"not json")
    assert await spent(InMemorySpendStore(journal)) == [total, total]


async def test_compaction_keeps_counters_and_the_spend_report(tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    store = InMemorySpendStore(journal)
    total = sum([await settle(store, i) for i in range(60)])
    by = ("period", "model")
    before = {r.group: (r.requests, r.cost_nanos) for r in summarize(read_journal(journal)[0], by)}
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None
    assert await drainer.drain() == 60
    total += sum([await settle(store, i) for i in range(60, 70)])  # not yet drained
    size = journal.stat().st_size

    assert await store.compact()
    assert journal.stat().st_size < size / 3
    assert [e.record.request_id for e in read_journal(journal)[0]] == \
        [f"q{i}" for i in range(60, 70)]
    assert await spent(store) == [total, total]
    rows = await history.spend_groups(SpendQuery("acme", by=by))
    assert {g.group: (g.requests, g.cost_nanos) for g in rows} == before, \
        "the report of the first 60 is the same from the journal and the database"
    total += sum([await settle(store, i) for i in range(70, 75)])  # appends go to the new file
    assert await drainer.drain() == 15
    await store.close()

    reopened = InMemorySpendStore(journal)
    assert await spent(reopened) == [total, total]
    assert await stored(history) == (75, total)
    await reopened.close()
    await history.aclose()


async def test_a_drain_position_of_the_previous_generation_maps_onto_the_new_file(
        tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    store = InMemorySpendStore(journal)
    total = sum([await settle(store, i) for i in range(30)])
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None and await drainer.drain() == 30
    total += sum([await settle(store, i) for i in range(30, 40)])
    # A drainer that read q30..q34 in the old file, then the compaction ran, then it acks.
    drainer.batch_size = 5
    batch = await drainer.outbox.read(5)
    await drainer.history.write_spend(batch.entries)
    assert await store.compact()
    await drainer.outbox.ack(batch)
    assert (await drainer.lag()).pending == 5
    assert await drainer.drain() == 5
    assert await stored(history) == (40, total)
    await store.close()
    await history.aclose()


async def test_compaction_runs_by_itself_once_enough_is_drained(tmp_path: Path) -> None:
    journal = tmp_path / "spend.jsonl"
    history = SQLiteRecordStore(tmp_path / "records.sqlite3")
    store = InMemorySpendStore(journal, snapshot_bytes=2_000, compact_bytes=4_000)
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None
    total = 0
    for i in range(200):
        total += await settle(store, i)
        if i % 10 == 9:
            await drainer.drain()
    assert store.journal is not None and store.journal.generation > 1
    assert journal.stat().st_size < 10_000, "bounded by compact_bytes, not by 200 lines"
    await drainer.drain()
    assert await stored(history) == (200, total)
    await store.close()
    assert await spent(InMemorySpendStore(journal)) == [total, total]
    await history.aclose()


async def test_memory_holds_no_entries_and_markers_only_for_their_ttl(tmp_path: Path) -> None:
    clock = Clock()
    store = InMemorySpendStore(tmp_path / "spend.jsonl", clock=clock, settled_ttl_s=10.0)
    for i in range(600):
        await settle(store, i)
        clock.now += 0.1  # 10 settles a second, for 60 seconds
    assert store.settled_markers() <= 2 * 10 * 10 + 1, "two TTLs of markers at most"
    assert store._entries == [], "settled entries live in the journal, not in memory"
    assert len(await store.entries()) == 600
    await store.close()


def test_a_marker_is_kept_at_least_its_ttl() -> None:
    clock = Clock()
    markers = SettledMarkers(10.0, clock)
    for step in range(300):
        key = ("acme", f"r{step}")
        markers.add(key)
        clock.now += 0.7
        assert key in markers
        assert ("acme", f"r{step - 14}") in markers or step < 14  # added 9.8 s ago
    clock.now += 100
    assert ("acme", "r299") not in markers and len(markers) == 0


def _worker(directory: Path, mode: str, arg: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.gateway.ledger.journal_worker",
                             str(directory), mode, arg], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)


def _acked(output: str) -> dict[str, int]:
    return {line.split()[1]: int(line.split()[2]) for line in output.splitlines()
            if line.startswith("acked ")}


async def _recovered(directory: Path) -> tuple[list[int], tuple[int, int], SQLiteRecordStore]:
    """Counters after a restart, and the database after draining what is left."""
    journal = directory / "spend.jsonl"
    store = InMemorySpendStore(journal)
    counters = await spent(store)
    history = SQLiteRecordStore(directory / "records.sqlite3")
    drainer = open_spend_drainer(store, history, journal)
    assert drainer is not None
    await drainer.drain()
    result = await stored(history)
    await store.close()
    return counters, result, history


@pytest.mark.parametrize("step", STEPS)
async def test_a_kill_at_any_step_of_a_compaction_loses_and_doubles_nothing(
        tmp_path: Path, step: str) -> None:
    worker = _worker(tmp_path, "step", step)
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == -9, output
    acked = _acked(output)
    assert len(acked) == 45
    total = sum(acked.values())
    counters, (requests, nanos), history = await _recovered(tmp_path)
    assert counters == [total, total]
    assert (requests, nanos) == (45, total)
    assert not compaction_path(tmp_path / "spend.jsonl").exists()
    await history.aclose()


@pytest.mark.slow
async def test_kills_at_random_points_of_a_busy_run_lose_and_double_nothing(
        tmp_path: Path) -> None:
    acked: dict[str, int] = {}
    start = 0
    for round_ in range(4):
        worker = _worker(tmp_path, "run", str(start))
        assert worker.stdout is not None
        wanted = 150 + 97 * round_  # acknowledged settles before the kill, varied per round
        seen = 0
        deadline = time.monotonic() + 120
        while seen < wanted and time.monotonic() < deadline:
            line = worker.stdout.readline()
            if not line:
                break
            if line.startswith("acked "):
                acked.update(_acked(line))
                seen += 1
        worker.kill()
        rest, _ = worker.communicate(timeout=30)
        acked.update(_acked(rest))
        assert seen == wanted, "the worker stopped early"
        start = max(int(k[1:]) for k in acked) + 100  # in-flight ids of the killed run skipped
    counters, (requests, nanos), history = await _recovered(tmp_path)
    reopened = SpendJournal(tmp_path / "spend.jsonl")
    reopened.recover()
    assert reopened.generation >= 4, "compactions ran (and were killed into) meanwhile"
    rows = {rid for _, rid in await _all_entries_all(history)}
    assert set(acked) <= rows, "every acknowledged settle reached the database"
    # Settles in flight at a kill may be durable without having been acknowledged: they
    # count, once, in the counters and the database alike.
    assert counters == [nanos, nanos]
    assert requests == len(rows) and nanos >= sum(acked.values())
    assert requests - len(acked) <= 4 * 8
    await history.aclose()


async def _all_entries_all(history: SQLiteRecordStore) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    after: tuple[float, str] | None = None
    while True:
        rows = await history.spend_requests(SpendQuery("acme"), 500, after)
        if not rows:
            return out
        out += [(r.tenant, r.request_id) for r in rows]
        after = (rows[-1].settled_at, rows[-1].request_id)
