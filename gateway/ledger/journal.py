"""An append-only JSONL file of settled entries: fsync'd per append, compacted, recovered.

A crash can tear only the line being written, so a last line without its newline (or that
does not parse) is dropped and cut off the file before new lines go after it. A damaged line
anywhere else means the file was edited or the disk lied: that fails loudly (LedgerCorrupt)
rather than silently forgetting spend.

Concurrent settles share fsyncs through GroupCommitter (group commit): every settle still
returns only after its own line is on disk.

The journal also keeps the window counters of exactly what is on disk, so that it can write
a snapshot of them every few MiB (start-up then replays only the lines after it) and, once a
drainer has copied a prefix to the records database, compact: the undrained lines are copied
after a header that carries the counters as of the cut, and the new file is renamed over the
old one (gateway/ledger/snapshot.py). Both are atomic, so a crash at any point leaves a
journal that recovers to the same counters: nothing settled is lost or counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from gateway.ledger.base import LedgerCorrupt, SettledEntry
from gateway.ledger.entries import decode_entry, encode_entry
from gateway.ledger.snapshot import (
    NO_HEADER,
    Counters,
    JournalHeader,
    Snapshot,
    compaction_path,
    encode_header,
    fold,
    fsync_dir,
    is_header,
    load_snapshot,
    read_header,
    save_snapshot,
    write_synced,
)

log = logging.getLogger(__name__)


def read_journal(path: Path, start: int = 0) -> tuple[list[SettledEntry], int]:
    """The entries in `path` from byte `start`, and where its intact prefix ends (torn tail
    excluded)."""
    if not path.exists():
        return [], 0
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read()
    return parse_journal(path, data, start)


def parse_journal(path: Path, data: bytes, start: int) -> tuple[list[SettledEntry], int]:
    """The entries in `data` (the bytes of `path` from `start`), and where its intact prefix
    ends."""
    entries: list[SettledEntry] = []
    offset = 0
    line_number = 0
    while offset < len(data):
        line_number += 1
        end = data.find(b"\n", offset)
        line = data[offset:] if end == -1 else data[offset:end]
        if not line.strip() or (is_header(line) and end != -1):
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
    """Appends entries to one file; each `append` returns only once the line is on disk.

    `hook`, if given, is called with the name of each step of a snapshot or compaction
    ("snapshot:written", "compact:written", "compact:renamed", "compact:synced"): the crash
    tests kill the process there.
    """

    def __init__(self, path: str | Path, *, fsync: bool = True,
                 hook: Callable[[str], None] | None = None):
        self.path = Path(path)
        self._fsync = fsync
        self._hook = hook
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._fd: int | None = None
        self.header: JournalHeader = NO_HEADER
        self.size = 0  # bytes of the file whose entries are in `_spent`
        self.snapshot_offset = 0  # where the last snapshot (of this generation) was taken
        self._spent: Counters = {}

    @property
    def generation(self) -> int:
        return self.header.generation

    def recover(self) -> list[SettledEntry]:
        """Loads the counters (header or snapshot, plus the lines after it) and returns the
        lines it replayed; cuts a torn tail so that appends start on a clean line."""
        with self._lock:
            compaction_path(self.path).unlink(missing_ok=True)  # never renamed: not the journal
            header = NO_HEADER
            if self.path.exists():
                with open(self.path, "rb") as handle:
                    try:
                        header = read_header(handle)
                    except ValueError as exc:
                        raise LedgerCorrupt(f"{self.path}:1: {exc}") from None
            start, spent = header.length, dict(header.spent)
            snapshot = load_snapshot(self.path)
            if snapshot is not None and self._fits(snapshot, header):
                start, spent = snapshot.offset, dict(snapshot.spent)
                self.snapshot_offset = snapshot.offset
            entries = self._replay(start)
            self.header = header
            self._spent = fold(spent, entries)
            self.size = self.path.stat().st_size if self.path.exists() else 0
            return entries

    def replay(self, start: int = 0) -> list[SettledEntry]:
        """Every intact entry from byte `start`; cuts a torn tail off the file so appends
        start on a clean line."""
        with self._lock:
            return self._replay(start)

    def spent(self) -> Counters:
        """The counters of every line on disk."""
        with self._lock:
            return dict(self._spent)

    def append(self, entry: SettledEntry) -> None:
        """Writes one line and fsyncs it (blocking: call it from a worker thread)."""
        self.append_batch([entry])

    def append_batch(self, entries: Sequence[SettledEntry]) -> None:
        """Writes the lines of `entries` and fsyncs once (blocking)."""
        data = b"".join(encode_entry(entry) + b"\n" for entry in entries)
        with self._lock:
            fd = self._open()
            try:
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
                if self._fsync:
                    os.fsync(fd)
            except OSError:
                # The caller undoes these settles and retries them: lines that did reach the
                # file must go, or the retry would put them there twice.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self.size)
                raise
            self.size += len(data)
            fold(self._spent, entries)

    def snapshot(self) -> None:
        """Writes the counters as of the current end of the file (blocking)."""
        with self._snapshot_lock:
            with self._lock:
                taken = Snapshot(self.generation, self.size, dict(self._spent))
            save_snapshot(self.path, taken, self._hook)
            with self._lock:
                if taken.generation == self.generation:
                    self.snapshot_offset = taken.offset

    def compact(self, generation: int, offset: int) -> bool:
        """Drops the lines before (`generation`, `offset`), a position the spend history
        already holds; False when there is nothing to drop (blocking, and appends wait)."""
        with self._lock:
            if generation != self.generation:
                return False  # the drain position is of an older file: wait for a newer one
            cut = max(offset, self.header.length)
            if cut <= self.header.length or cut > self.size:
                return False
            with open(self.path, "rb") as handle:
                handle.seek(cut)
                tail = handle.read(self.size - cut)
            kept, intact = parse_journal(self.path, tail, cut)
            if intact != self.size:
                raise LedgerCorrupt(f"{self.path}: the line at byte {cut + intact} is not whole")
            base = fold(dict(self._spent), kept, -1)
            header_line = encode_header(generation + 1, generation, cut, base)
            tmp = compaction_path(self.path)
            write_synced(tmp, header_line + tail)
            self._step("compact:written")
            self._close()
            os.replace(tmp, self.path)
            self._step("compact:renamed")
            # Durable before the next append: else a power cut could bring back the old file
            # without lines acknowledged in the new one.
            fsync_dir(self.path.parent)
            self._step("compact:synced")
            self.header = JournalHeader(generation + 1, generation, cut, base, len(header_line))
            self.size = len(header_line) + len(tail)
            self.snapshot_offset = 0
        self.snapshot()  # else the next start replays the copied tail
        return True

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _step(self, name: str) -> None:
        if self._hook is not None:
            self._hook(name)

    def _fits(self, snapshot: Snapshot, header: JournalHeader) -> bool:
        """Whether `snapshot` is a line boundary of this very file."""
        if snapshot.generation != header.generation or snapshot.offset < header.length:
            return False
        if snapshot.offset == 0:
            return True
        with open(self.path, "rb") as handle:
            handle.seek(snapshot.offset - 1)
            return handle.read(1) == b"\n"

    def _replay(self, start: int) -> list[SettledEntry]:
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

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.size = os.fstat(self._fd).st_size
            if created and self._fsync:
                # The new directory entry must be durable too, or a crash loses the file.
                fsync_dir(self.path.parent)
        return self._fd


class GroupCommitter:
    """Makes concurrent appends share fsyncs; each `append` still returns only once durable.

    One writer thread takes every entry queued while it wrote the last batch and writes them
    together with one fsync: at 32 concurrent settles that is one fsync for many of them
    instead of 32 in a row. The thread is the journal's own (no executor submit and no task
    per batch: measurable per request on the gateway's hot path); it exits after `idle_s`
    with nothing to write and the next append starts another. Appends may come from any
    event loop; each waiter is woken on its own.
    """

    def __init__(self, journal: SpendJournal, after_flush: Callable[[], None] | None = None,
                 idle_s: float = 1.0):
        self.journal = journal
        # Snapshots and compaction run on the writer thread after a batch's waiters are
        # woken, so they never race an append and never delay a settle's return.
        self._after_flush = after_flush
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
            if self._after_flush is not None:
                try:
                    self._after_flush()
                except Exception:
                    # The writer must live on for the next batch, and spend is durable
                    # without a snapshot or compaction: the journal only stays longer.
                    log.exception("%s: snapshot or compaction failed", self.journal.path)


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
