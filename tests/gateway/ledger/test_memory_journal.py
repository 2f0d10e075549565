"""The embedded store's spend log: durable per settle, replayed on start, crash-tolerant."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from gateway.ledger.base import LedgerCorrupt, RequestAlreadySettled, StoreUnavailable
from gateway.ledger.journal import SpendJournal
from gateway.ledger.memory import InMemorySpendStore
from tests.gateway.ledger.helpers import record_for, window

TTL = 60.0


async def _settle(store: InMemorySpendStore, request_id: str, usd: float) -> None:
    hold = await store.reserve("acme", request_id, usd, [window()], TTL)
    await store.settle(hold, usd, record_for(hold, usd))


async def test_spend_survives_a_restart(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    first = InMemorySpendStore(log)
    await _settle(first, "r1", 0.25)
    await _settle(first, "r2", 0.05)
    await first.close()

    second = InMemorySpendStore(log)
    [state] = await second.state("acme", [window()])
    assert state.spent_nanos == 300_000_000
    assert [r.request_id for r in await second.records()] == ["r1", "r2"]
    await second.close()


async def test_settlement_stays_idempotent_across_a_restart(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    first = InMemorySpendStore(log)
    hold = await first.reserve("acme", "r1", 0.25, [window()], TTL)
    await first.settle(hold, 0.25, record_for(hold, 0.25))
    await first.close()

    second = InMemorySpendStore(log)
    await second.settle(hold, 0.25, record_for(hold, 0.25))
    with pytest.raises(RequestAlreadySettled):
        await second.reserve("acme", "r1", 0.25, [window()], TTL)
    [state] = await second.state("acme", [window()])
    assert state.spent_nanos == 250_000_000
    assert len(log.read_text().splitlines()) == 1


async def test_a_torn_last_line_is_dropped_and_the_log_stays_appendable(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    first = InMemorySpendStore(log)
    await _settle(first, "r1", 0.25)
    await first.close()
    torn = b'{"v": 1, "settled_at": "2026-11-03T10:00:00+00:00", "windo'
    log.write_bytes(log.read_bytes() + torn)

    second = InMemorySpendStore(log)
    await _settle(second, "r2", 0.10)
    await second.close()

    third = InMemorySpendStore(log)
    assert [r.request_id for r in await third.records()] == ["r1", "r2"]
    [state] = await third.state("acme", [window()])
    assert state.spent_nanos == 350_000_000


async def test_a_complete_last_entry_missing_its_newline_is_kept(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    first = InMemorySpendStore(log)
    await _settle(first, "r1", 0.25)
    await first.close()
    log.write_bytes(log.read_bytes().rstrip(b"\n"))

    second = InMemorySpendStore(log)
    await _settle(second, "r2", 0.10)
    assert [r.request_id for r in await second.records()] == ["r1", "r2"]
    assert len(log.read_text().splitlines()) == 2


async def test_a_damaged_line_before_the_end_fails_loudly(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    first = InMemorySpendStore(log)
    await _settle(first, "r1", 0.25)
    await _settle(first, "r2", 0.25)
    await first.close()
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"not json\n" + lines[1])

    with pytest.raises(LedgerCorrupt, match=":1:"):
        InMemorySpendStore(log)


async def test_a_failed_append_is_undone_so_a_retry_counts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = InMemorySpendStore(tmp_path / "spend.jsonl")
    hold = await store.reserve("acme", "r1", 0.25, [window()], TTL)

    def disk_full(self: SpendJournal, entries: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(SpendJournal, "append_batch", disk_full)
        with pytest.raises(StoreUnavailable, match="No space left"):
            await store.settle(hold, 0.25, record_for(hold, 0.25))
    [state] = await store.state("acme", [window()])
    assert state.spent_nanos == 0

    await store.settle(hold, 0.25, record_for(hold, 0.25))
    [state] = await store.state("acme", [window()])
    assert state.spent_nanos == 250_000_000
    assert len(await store.records()) == 1


async def test_concurrent_settles_are_all_durable(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    store = InMemorySpendStore(log)
    holds = [await store.reserve("acme", f"r{i}", 0.01, [window()], TTL) for i in range(50)]
    await asyncio.gather(*(store.settle(h, 0.01, record_for(h, 0.01)) for h in holds))
    await store.close()

    reopened = InMemorySpendStore(log)
    assert sorted(r.request_id for r in await reopened.records()) == sorted(
        f"r{i}" for i in range(50))
    [state] = await reopened.state("acme", [window()])
    assert state.spent_nanos == 50 * 10_000_000


async def test_without_a_path_nothing_is_written(tmp_path: Path) -> None:
    store = InMemorySpendStore()
    await _settle(store, "r1", 0.25)
    assert list(tmp_path.iterdir()) == []
    assert len(await store.records()) == 1
