"""GroupCommitter: one writer thread, durable before each append returns, gone when idle."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from gateway.ledger.base import SettledEntry, SpendRecord
from gateway.ledger.journal import GroupCommitter, SpendJournal, read_journal


def _entry(request_id: str) -> SettledEntry:
    record = SpendRecord(tenant="acme", request_id=request_id, model="gpt-4o-mini",
                         route="auto", cost_usd=0.01, prompt_tokens=10, completion_tokens=5)
    return SettledEntry(record, "2026-12-06T00:00:00Z", ("month:2026-12",), 10_000_000)


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "spend-journal"]


async def test_each_append_is_on_disk_when_it_returns(tmp_path: Path) -> None:
    journal = SpendJournal(tmp_path / "spend.jsonl")
    committer = GroupCommitter(journal)
    for i in range(3):
        await committer.append(_entry(f"r{i}"))
        entries, _ = read_journal(journal.path)
        assert [e.record.request_id for e in entries] == [f"r{j}" for j in range(i + 1)]
    await asyncio.gather(*(committer.append(_entry(f"c{i}")) for i in range(40)))
    assert len(read_journal(journal.path)[0]) == 43
    journal.close()


async def test_the_writer_thread_leaves_when_idle_and_comes_back(tmp_path: Path) -> None:
    journal = SpendJournal(tmp_path / "spend.jsonl")
    committer = GroupCommitter(journal, idle_s=0.01)
    await committer.append(_entry("r1"))
    for _ in range(500):  # waiting for the thread to leave, not timing it
        if not _writers():
            break
        await asyncio.sleep(0.01)
    assert not _writers()
    await committer.append(_entry("r2"))
    assert [e.record.request_id for e in read_journal(journal.path)[0]] == ["r1", "r2"]
    journal.close()


def test_appends_from_two_event_loops_each_wake_their_own(tmp_path: Path) -> None:
    journal = SpendJournal(tmp_path / "spend.jsonl")
    committer = GroupCommitter(journal)

    def run(prefix: str) -> None:
        async def appends() -> None:
            await asyncio.gather(*(committer.append(_entry(f"{prefix}{i}")) for i in range(20)))
        asyncio.run(appends())

    threads = [threading.Thread(target=run, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(read_journal(journal.path)[0]) == 40
    journal.close()


async def test_a_failed_write_reaches_its_waiters_and_the_writer_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = SpendJournal(tmp_path / "spend.jsonl")
    committer = GroupCommitter(journal)

    def broken(entries: object) -> None:
        raise ValueError("cannot encode")

    with monkeypatch.context() as patch:
        patch.setattr(journal, "append_batch", broken)
        with pytest.raises(ValueError, match="cannot encode"):
            await committer.append(_entry("r1"))
    await committer.append(_entry("r2"))
    assert [e.record.request_id for e in read_journal(journal.path)[0]] == ["r2"]
    journal.close()
