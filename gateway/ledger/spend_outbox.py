"""The spend ledger's outbox: settled entries waiting to be copied to the records database.

With Redis the tenant's log stream is the outbox (gateway/ledger/redis_outbox.py); with the
in-process store it is the JSONL journal (`JournalOutbox` here). A drainer reads a batch,
writes it to the database (idempotent by request id), then acknowledges it: the stream is
trimmed, the journal's checkpoint moves on. A batch read but never acknowledged (database
down, replica killed) is read again, so nothing settled is lost, and repeats are harmless.

The journal's checkpoint (`<journal>.drained.json`) holds the position drained so far: a
byte offset in one generation of the journal. The in-process store compacts the journal up
to it (gateway/ledger/journal.py); a position of the generation before a compaction maps
onto the new file through its header's cut (gateway/ledger/snapshot.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

import orjson

from gateway.ledger.base import LedgerCorrupt, SettledEntry
from gateway.ledger.entries import decode_entry, unix_seconds
from gateway.ledger.snapshot import JournalHeader, is_header, read_header, resolve_offset

_READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    entries: Sequence[SettledEntry]
    token: Any  # what `ack` needs to let these entries go


@dataclass(frozen=True, slots=True)
class OutboxLag:
    """How far the database is behind the ledger."""

    pending: int
    oldest_age_s: float | None

    def as_dict(self) -> dict[str, Any]:
        age = None if self.oldest_age_s is None else round(self.oldest_age_s, 3)
        return {"pending": self.pending, "oldest_pending_age_s": age}


@runtime_checkable
class SpendOutbox(Protocol):
    async def read(self, limit: int) -> OutboxBatch:
        """Up to `limit` of the oldest entries not yet acknowledged (empty when none)."""

    async def ack(self, batch: OutboxBatch) -> None:
        """Lets the batch go; call only after it is stored."""

    async def lag(self) -> OutboxLag: ...

    async def refresh(self) -> None:
        """Looks for sources that appeared since the last look (new tenants' Redis streams),
        so that a catch-up drains everything settled until now."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    offset: int
    target: str = ""  # which database the entries up to `offset` were drained into
    generation: int = 0  # of the journal file `offset` is in (a compaction starts a new one)


def checkpoint_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".drained.json")


def load_checkpoint(journal: Path) -> Checkpoint:
    path = checkpoint_path(journal)
    if not path.exists():
        return Checkpoint(0)
    body = orjson.loads(path.read_bytes())
    return Checkpoint(int(body["offset"]), str(body.get("target", "")),
                      int(body.get("generation", 0)))


def save_checkpoint(journal: Path, checkpoint: Checkpoint) -> None:
    """Atomically (write, fsync, rename): a crash leaves the old or the new checkpoint."""
    path = checkpoint_path(journal)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(orjson.dumps({"offset": checkpoint.offset, "target": checkpoint.target,
                                   "generation": checkpoint.generation}))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_batch(journal: Path, checkpoint: Checkpoint, limit: int | None
               ) -> tuple[list[SettledEntry], Checkpoint]:
    """Complete lines after `checkpoint` (a line still without its newline waits), and the
    checkpoint just past them. One open file for the header and the lines: a compaction
    renaming a new journal in meanwhile cannot mix two generations' offsets."""
    if not journal.exists():
        return [], checkpoint
    with open(journal, "rb") as handle:
        header, offset = _position(handle, journal, checkpoint)
        entries, end = _read_lines(handle, journal, offset, limit)
    return entries, Checkpoint(end, checkpoint.target, header.generation)


def _position(handle: BinaryIO, journal: Path, checkpoint: Checkpoint) -> tuple[JournalHeader, int]:
    """The open journal's header, and where `checkpoint` falls in it."""
    try:
        header = read_header(handle)
    except ValueError as exc:
        raise LedgerCorrupt(f"{journal}:1: {exc}") from None
    return header, resolve_offset(header, checkpoint.generation, checkpoint.offset)


def pending(journal: Path, checkpoint: Checkpoint) -> tuple[int, SettledEntry | None]:
    """How many complete lines wait after `checkpoint`, and the oldest of them.

    The lines are counted, not decoded: after a long database outage millions may wait, and
    the spend report asks for this on every call."""
    if not journal.exists():
        return 0, None
    with open(journal, "rb") as handle:
        _, offset = _position(handle, journal, checkpoint)
        first, _ = _read_lines(handle, journal, offset, 1)
        if not first:
            return 0, None
        handle.seek(offset)
        count = 0
        while chunk := handle.read(_READ_CHUNK):
            count += chunk.count(b"\n")
    return count, first[0]


def read_lines(journal: Path, offset: int, limit: int | None) -> tuple[list[SettledEntry], int]:
    """Complete lines from `offset` (a line still without its newline waits); the new offset."""
    if not journal.exists():
        return [], offset
    with open(journal, "rb") as handle:
        return _read_lines(handle, journal, offset, limit)


def _read_lines(handle: BinaryIO, journal: Path, offset: int, limit: int | None
                ) -> tuple[list[SettledEntry], int]:
    entries: list[SettledEntry] = []
    handle.seek(offset)
    buffer = b""
    while limit is None or len(entries) < limit:
        chunk = handle.read(_READ_CHUNK)
        if not chunk:
            break
        buffer += chunk
        start = 0  # index into `buffer`: slicing it per line would copy it per line
        while limit is None or len(entries) < limit:
            end = buffer.find(b"\n", start)
            if end == -1:
                break
            line = buffer[start:end]
            if line.strip() and not is_header(line):
                try:
                    entries.append(decode_entry(line))
                except ValueError as exc:
                    raise LedgerCorrupt(f"{journal} at byte {offset}: {exc}") from None
            offset += end + 1 - start
            start = end + 1
        buffer = buffer[start:]
    return entries, offset


class JournalOutbox:
    """The in-process store's journal, drained past a checkpoint (one drainer per journal).

    `target` names the database drained into (a digest, never the URL: it may hold a
    password). A checkpoint of another database (the `records:` setting changed) is ignored
    and the new one is filled from the journal's first line: all history if the journal was
    never compacted, else what was kept (the rest is in the other database).
    """

    def __init__(self, journal: str | Path, target: str = ""):
        self.journal = Path(journal)
        self.target = hashlib.sha256(target.encode()).hexdigest()[:16] if target else ""
        self._checkpoint: Checkpoint | None = None

    async def read(self, limit: int) -> OutboxBatch:
        checkpoint = await self._current()
        entries, after = await asyncio.to_thread(read_batch, self.journal, checkpoint, limit)
        return OutboxBatch(entries, after)

    async def ack(self, batch: OutboxBatch) -> None:
        moved = batch.token
        assert isinstance(moved, Checkpoint)
        await asyncio.to_thread(save_checkpoint, self.journal, moved)
        self._checkpoint = moved

    async def refresh(self) -> None:
        """One journal: nothing new to find."""

    async def lag(self) -> OutboxLag:
        checkpoint = await self._current()
        count, oldest = await asyncio.to_thread(pending, self.journal, checkpoint)
        if oldest is None:
            return OutboxLag(0, None)
        return OutboxLag(count, max(0.0, time.time() - unix_seconds(oldest.settled_at)))

    async def _current(self) -> Checkpoint:
        if self._checkpoint is None:
            found = await asyncio.to_thread(load_checkpoint, self.journal)
            # Another database's position: fill this one from the journal's first line.
            self._checkpoint = found if found.target == self.target else Checkpoint(
                0, self.target)
        return self._checkpoint
