"""Where the in-process store's start-up begins: a journal header or a counters snapshot.

Two durable summaries of the window counters, each valid at one byte position of one journal
*generation* (a compaction starts a new one; a journal from before compaction is generation 0):

- A compacted journal's first line is a header: its generation, the counters as of its first
  entry, and where in the previous generation it was cut (so that a drain position of the
  previous generation still maps onto it). Header and entries arrive together by one rename,
  so the file is always self-contained.
- `<journal>.snapshot.json` holds the counters as of a byte offset of a generation, written
  every few MiB so that start-up replays only the lines after it. It is only a shortcut: one
  that does not match the journal's generation, or points past its end, is ignored, and
  start-up replays from the header instead. Nothing is lost or counted twice either way.

Both are written atomically: write a temporary file, fsync it, rename, fsync the directory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from gateway.ledger.base import SettledEntry

log = logging.getLogger(__name__)

HEADER_PREFIX = b'{"costroute_journal"'
HEADER_VERSION = 2

Counters = dict[tuple[str, str], int]  # (tenant, window key) -> settled nano-dollars


@dataclass(frozen=True, slots=True)
class JournalHeader:
    generation: int
    previous: int  # the generation this one was cut from
    cut: int  # the byte offset in `previous` where this file's first entry was
    spent: Counters  # counters as of this file's first entry
    length: int  # bytes of the header line, newline included


NO_HEADER = JournalHeader(0, -1, 0, {}, 0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    generation: int
    offset: int  # every line of `generation` before this byte is in `spent`
    spent: Counters


def is_header(line: bytes) -> bool:
    return line.startswith(HEADER_PREFIX)


def encode_header(generation: int, previous: int, cut: int, spent: Mapping[tuple[str, str], int]
                  ) -> bytes:
    """The header line (newline included) of a compacted journal."""
    return orjson.dumps({"costroute_journal": HEADER_VERSION, "generation": generation,
                         "previous": previous, "cut": cut,
                         "spent": _encode_counters(spent)}) + b"\n"


def read_header(handle: BinaryIO) -> JournalHeader:
    """The header of the open journal `handle` (NO_HEADER for generation 0); moves the
    handle's position."""
    handle.seek(0)
    line = handle.readline()
    if not is_header(line):
        return NO_HEADER
    if not line.endswith(b"\n"):
        # A header is only ever written whole before the rename; a partial one is damage.
        raise ValueError("journal header without its newline")
    body = orjson.loads(line)
    return JournalHeader(int(body["generation"]), int(body["previous"]), int(body["cut"]),
                         _decode_counters(body.get("spent", [])), len(line))


def resolve_offset(header: JournalHeader, generation: int, offset: int) -> int:
    """Where position (`generation`, `offset`) falls in the journal that has `header`.

    A position of the previous generation maps through the cut (bytes past the cut were
    copied right after the header). Any other generation (a drain position that was never
    written, or of a different database) maps to the first entry: rereading is harmless,
    skipping is not.
    """
    if generation == header.generation:
        return max(offset, header.length)
    if generation == header.previous:
        return header.length + max(0, offset - header.cut)
    return header.length


def fold(spent: Counters, entries: Iterable[SettledEntry], sign: int = 1) -> Counters:
    """Adds (or with sign=-1 removes) `entries`' nano-dollars to `spent`, in place."""
    for entry in entries:
        for key in entry.window_keys:
            slot = (entry.record.tenant, key)
            spent[slot] = spent.get(slot, 0) + sign * entry.actual_nanos
    return spent


def snapshot_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".snapshot.json")


def compaction_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".compact.tmp")


def load_snapshot(journal: Path) -> Snapshot | None:
    """The snapshot beside `journal`, or None (none, or unreadable: start-up replays more)."""
    path = snapshot_path(journal)
    try:
        body = orjson.loads(path.read_bytes())
        return Snapshot(int(body["generation"]), int(body["offset"]),
                        _decode_counters(body["spent"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: ignoring an unreadable snapshot (%s); replaying the journal", path, exc)
        return None


def save_snapshot(journal: Path, snapshot: Snapshot,
                  hook: Callable[[str], None] | None = None) -> None:
    """Atomically: a crash leaves the old snapshot or the new one, never a mix (a temporary
    file is fsync'd, renamed over the old one, and the directory fsync'd)."""
    path = snapshot_path(journal)
    tmp = path.with_name(path.name + ".tmp")
    write_synced(tmp, orjson.dumps({"generation": snapshot.generation,
                                    "offset": snapshot.offset,
                                    "spent": _encode_counters(snapshot.spent)}))
    if hook is not None:
        hook("snapshot:written")
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _encode_counters(spent: Mapping[tuple[str, str], int]) -> list[list[object]]:
    return [[t, k, n] for (t, k), n in sorted(spent.items())]


def _decode_counters(rows: Iterable[list[object]]) -> Counters:
    return {(str(t), str(k)): int(str(n)) for t, k, n in rows}
