"""An append-only JSONL file of settled entries: fsync'd per append, replayed at start.

A crash can tear only the line being written, so a last line without its newline (or that
does not parse) is dropped and cut off the file before new lines go after it. A damaged line
anywhere else means the file was edited or the disk lied: that fails loudly (LedgerCorrupt)
rather than silently forgetting spend.

Concurrent settles share fsyncs through GroupCommitter (group commit): every settle still
returns only after its own line is on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from gateway.ledger.base import LedgerCorrupt, SettledEntry
from gateway.ledger.entries import decode_entry, encode_entry

log = logging.getLogger(__name__)


def read_journal(path: Path, start: int = 0) -> tuple[list[SettledEntry], int]:
    """The entries in `path` from byte `start`, and where its intact prefix ends (torn tail
    excluded)."""
    if not path.exists():
        return [], 0
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read()
    entries: list[SettledEntry] = []
    offset = 0
    line_number = 0
    while offset < len(data):
        line_number += 1
        end = data.find(b"\n", offset)
        line = data[offset:] if end == -1 else data[offset:end]
        if not line.strip():
            offset = len(data) if end == -1 else end + 1
            continue
        try:
            entry = decode_entry(line)
        except ValueError as exc:
            if end == -1 or not data[end + 1:].strip():
                log.warning("%s: dropping torn last line %d (%s)", path, line_number, exc)
                return entries, start + offset
            raise LedgerCorrupt(f"{path}:{line_number}: {exc}") from None
        if end == -1:
            # Parsed but unterminated: the newline never reached the disk, so the append
            # was never acknowledged; keep the entry and finish the line on open.
            entries.append(entry)
            return entries, start + len(data)
        entries.append(entry)
        offset = end + 1
    return entries, start + offset


class SpendJournal:
    """Appends entries to one file; each `append` returns only once the line is on disk."""

    def __init__(self, path: str | Path, *, fsync: bool = True):
        self.path = Path(path)
        self._fsync = fsync
        self._lock = threading.Lock()
        self._fd: int | None = None

    def replay(self, start: int = 0) -> list[SettledEntry]:
        """Every intact entry from byte `start` (a drained checkpoint's offset); cuts a torn
        tail off the file so appends start on a clean line."""
        entries, intact = read_journal(self.path, start)
        if self.path.exists():
            size = self.path.stat().st_size
            with open(self.path, "r+b") as handle:
                if intact < size:
                    handle.truncate(intact)
                if intact > 0:
                    handle.seek(intact - 1)
                    if handle.read(1) != b"\n":
                        handle.write(b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        return entries

    def append(self, entry: SettledEntry) -> None:
        """Writes one line and fsyncs it (blocking: call it from a worker thread)."""
        self.append_batch([entry])

    def append_batch(self, entries: Sequence[SettledEntry]) -> None:
        """Writes the lines of `entries` and fsyncs once (blocking)."""
        data = b"".join(encode_entry(entry) + b"\n" for entry in entries)
        with self._lock:
            fd = self._open()
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            if self._fsync:
                os.fsync(fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            if created and self._fsync:
                # The new directory entry must be durable too, or a crash loses the file.
                _fsync_dir(self.path.parent)
        return self._fd


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class GroupCommitter:
    """Makes concurrent appends share fsyncs; each `append` still returns only once durable.

    While one batch is being written, the entries that arrive queue up and go together in
    the next write + fsync: at 32 concurrent settles that is one fsync for many of them
    instead of 32 in a row. Use from one event loop.
    """

    def __init__(self, journal: SpendJournal):
        self.journal = journal
        self._waiting: list[tuple[SettledEntry, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def append(self, entry: SettledEntry) -> None:
        """Returns once `entry` is on disk; raises the OSError of a failed write."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((entry, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(self.journal.append_batch, [e for e, _ in batch])
            except OSError as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
