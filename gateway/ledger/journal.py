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
import queue
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

    One writer thread takes every entry queued while it wrote the last batch and writes them
    together with one fsync: at 32 concurrent settles that is one fsync for many of them
    instead of 32 in a row. The thread is the journal's own (no executor submit and no task
    per batch: measurable per request on the gateway's hot path); it exits after `idle_s`
    with nothing to write and the next append starts another. Appends may come from any
    event loop; each waiter is woken on its own.
    """

    def __init__(self, journal: SpendJournal, idle_s: float = 1.0):
        self.journal = journal
        self.idle_s = idle_s
        self._queue: queue.SimpleQueue[_Waiter] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders `_running` against the queue's emptiness
        self._running = False

    async def append(self, entry: SettledEntry) -> None:
        """Returns once `entry` is on disk; raises the error of a failed write (an OSError
        from the disk)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put((entry, loop, done))
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._write_loop, name="spend-journal",
                                 daemon=True).start()
        await done

    def _write_loop(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=self.idle_s)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            error: Exception | None = None
            try:
                self.journal.append_batch([entry for entry, _, _ in batch])
            except Exception as exc:  # noqa: BLE001 - the waiters raise it; the thread lives on
                error = exc
            _wake(batch, error)


_Waiter = tuple[SettledEntry, asyncio.AbstractEventLoop, "asyncio.Future[None]"]


def _wake(batch: list[_Waiter], error: Exception | None) -> None:
    """Resolves each waiter on its own loop: one wake-up per loop, not per entry."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _, loop, done in batch:
        by_loop.setdefault(loop, []).append(done)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, futures, error)
        except RuntimeError:
            pass  # that loop is closed: nobody is waiting any more


def _resolve(futures: list[asyncio.Future[None]], error: Exception | None) -> None:
    for done in futures:
        if done.done():
            continue  # its settle was cancelled; the line was written all the same
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
