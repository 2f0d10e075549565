"""The serving pointer of a route: which artifact version every replica serves.

One small JSON file per route in the registry's `serving/` folder, which every replica can
see (a shared volume, or one host's disk). It is replaced atomically (write a temporary
file, `os.replace`), so a reader sees the old pointer or the new one, never half of one.
Writers take an exclusive `flock` on a lock file, so two `promote` commands at once
cannot lose one another's history entry.

    {"route": "auto", "version": "v0003-knn", "path": "versions/v0003-knn",
     "updated_at": ..., "history": [{"version", "path", "at"}, ...],  # serving stack
     "events": [{"action": "promote" | "rollback", "version", "at"}, ...]}

`history[-1]` is what serves. Promote pushes a version; rollback pops back to the one
before it, so repeated rollbacks walk back through what served before. Rolling back the first
promoted version empties the stack: the route serves what its config names again (the
configured artifact, or a router without one), written as `"version": null, "history": []`
so that the file still changes and every replica sees the move; `read_pointer` then answers
None, as before anything was promoted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from routers.versions.manifest import RegistryError, read_manifest, version_id

MAX_EVENTS = 200


class FileLayout(Protocol):
    """The file registry as this module sees it (routers.versions.registry implements it)."""

    @property
    def root(self) -> Path: ...

    @property
    def serving_dir(self) -> Path: ...

    def path(self, version_or_path: str | Path) -> Path: ...


@dataclass(frozen=True)
class Pointer:
    """What serves a route now, and the stack of what served before."""

    route: str
    version: str
    path: Path
    updated_at: float
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    # The content hash of the version's files where a database keeps them (None for files):
    # a replica's cached copy is named and verified by it.
    digest: str | None = None
    revision: int | None = None  # the database pointer's revision (None for files)

    @property
    def previous(self) -> str | None:
        return str(self.history[-2]["version"]) if len(self.history) > 1 else None


def pointer_file(registry: FileLayout, route: str) -> Path:
    return registry.serving_dir / f"{quote(route, safe='')}.json"


def nothing_to_roll_back(route: str) -> RegistryError:
    """Rollback where the route serves what its config names (every backend says this)."""
    return RegistryError(f"route {route!r}: nothing was promoted (it serves what its config "
                         "names), nothing to roll back")


def read_pointer(registry: FileLayout, route: str) -> Pointer | None:
    """The route's pointer, or None when the route serves what its config names: nothing was
    ever promoted for it, or its first promote was rolled back."""
    raw = _read_raw(registry, route)
    if raw is None or raw.get("version") is None:
        return None
    return Pointer(
        route=str(raw["route"]), version=str(raw["version"]),
        path=_absolute(registry, raw["path"]), updated_at=float(raw["updated_at"]),
        history=list(raw.get("history", [])), events=list(raw.get("events", [])),
    )


def _read_raw(registry: FileLayout, route: str) -> dict[str, Any] | None:
    path = pointer_file(registry, route)
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: not a serving pointer ({exc})") from None
    return raw


def promote(registry: FileLayout, route: str, version_or_path: str | Path) -> Pointer:
    """Serve `version_or_path` (a version id, or any artifact directory) on `route`."""
    directory = registry.path(version_or_path)
    manifest = read_manifest(directory)
    version = version_id(manifest) or directory.name
    with _locked(registry, route):
        current = _read_raw(registry, route) or {}
        history = list(current.get("history", []))
        events = list(current.get("events", []))
        now = time.time()
        history.append({"version": version, "path": _relative(registry, directory), "at": now})
        events.append({"action": "promote", "version": version, "at": now})
        pointer = _write(registry, route, history, events, now)
        assert pointer is not None
        return pointer


def rollback(registry: FileLayout, route: str) -> Pointer | None:
    """Serve again what served before the last promote: the version promoted before it, or,
    from the first promoted version, what the route's config names (then None)."""
    with _locked(registry, route):
        current = _read_raw(registry, route) or {}
        history = list(current.get("history", []))
        if not history:
            raise nothing_to_roll_back(route)
        popped = history.pop()
        now = time.time()
        events = [*current.get("events", []), {
            "action": "rollback", "version": history[-1]["version"] if history else None,
            "from": popped["version"], "at": now}]
        return _write(registry, route, history, events, now)


def _write(registry: FileLayout, route: str, history: list[dict[str, Any]],
           events: list[dict[str, Any]], now: float) -> Pointer | None:
    """Replace the pointer file; an empty `history` is the config's own serving again."""
    top: dict[str, Any] = history[-1] if history else {"version": None, "path": None}
    body = {"route": route, "version": top["version"], "path": top["path"], "updated_at": now,
            "history": history, "events": events[-MAX_EVENTS:]}
    path = pointer_file(registry, route)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return read_pointer(registry, route)


@contextlib.contextmanager
def _locked(registry: FileLayout, route: str) -> Iterator[None]:
    registry.serving_dir.mkdir(parents=True, exist_ok=True)
    lock = registry.serving_dir / f".{quote(route, safe='')}.lock"
    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _relative(registry: FileLayout, directory: Path) -> str:
    """Inside the registry: relative (the registry may be mounted elsewhere on a replica)."""
    try:
        return str(directory.resolve().relative_to(registry.root.resolve()))
    except ValueError:
        return str(directory.resolve())


def _absolute(registry: FileLayout, stored: str) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else registry.root / path
