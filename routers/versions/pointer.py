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
before it, so repeated rollbacks walk back through what served before.
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


def read_pointer(registry: FileLayout, route: str) -> Pointer | None:
    """The route's pointer, or None when nothing was ever promoted for it."""
    path = pointer_file(registry, route)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: not a serving pointer ({exc})") from None
    return Pointer(
        route=str(raw["route"]), version=str(raw["version"]),
        path=_absolute(registry, raw["path"]), updated_at=float(raw["updated_at"]),
        history=list(raw.get("history", [])), events=list(raw.get("events", [])),
    )


def promote(registry: FileLayout, route: str, version_or_path: str | Path) -> Pointer:
    """Serve `version_or_path` (a version id, or any artifact directory) on `route`."""
    directory = registry.path(version_or_path)
    manifest = read_manifest(directory)
    version = version_id(manifest) or directory.name
    with _locked(registry, route):
        current = read_pointer(registry, route)
        history = list(current.history) if current else []
        events = list(current.events) if current else []
        now = time.time()
        history.append({"version": version, "path": _relative(registry, directory), "at": now})
        events.append({"action": "promote", "version": version, "at": now})
        return _write(registry, route, history, events, now)


def rollback(registry: FileLayout, route: str) -> Pointer:
    """Serve again what served before the last promote."""
    with _locked(registry, route):
        current = read_pointer(registry, route)
        if current is None:
            raise RegistryError(f"route {route!r}: nothing was promoted, nothing to roll back")
        if len(current.history) < 2:
            raise RegistryError(
                f"route {route!r}: {current.version} is the first promoted version; "
                "there is nothing before it to roll back to")
        history = current.history[:-1]
        now = time.time()
        events = [*current.events, {"action": "rollback", "version": history[-1]["version"],
                                    "from": current.version, "at": now}]
        return _write(registry, route, history, events, now)


def _write(registry: FileLayout, route: str, history: list[dict[str, Any]],
           events: list[dict[str, Any]], now: float) -> Pointer:
    top = history[-1]
    body = {"route": route, "version": top["version"], "path": top["path"], "updated_at": now,
            "history": history, "events": events[-MAX_EVENTS:]}
    path = pointer_file(registry, route)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    pointer = read_pointer(registry, route)
    assert pointer is not None
    return pointer


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
