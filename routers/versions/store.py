"""What the CLI, the trainer and the serving watcher need of a registry, whatever keeps it.

Two backends: `ArtifactRegistry` (routers.versions.registry), versions and pointers as files
in one directory, for one host or a shared volume; and the records database
(gateway.artifacts.db_registry), for replicas on different hosts. Calls block (files, a
database round trip): the gateway makes them from a worker thread, never on its event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any, Protocol

from routers.versions.pointer import Pointer


class VersionStore(Protocol):
    def describe(self) -> str:
        """Where the registry lives, for messages (`registry /data/artifacts`)."""
        ...

    def versions(self) -> list[str]:
        """Version ids, oldest first."""
        ...

    def manifest(self, version_or_path: str | Path) -> dict[str, Any]:
        """A version's manifest (or an artifact directory's), without fetching its files."""
        ...

    def path(self, version_or_path: str | Path) -> Path:
        """A version as a local artifact directory (fetched first if it lives elsewhere)."""
        ...

    def create(self, kind: str, write: Callable[[Path], None]) -> str:
        """Publish what `write(directory)` writes as a new version; returns its new id."""
        ...

    def annotate(self, version: str, block: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `block` into a version's manifest `version` entry; returns the manifest."""
        ...

    def routes(self) -> list[str]:
        """The routes that have a serving pointer, sorted."""
        ...

    def read_pointer(self, route: str) -> Pointer | None:
        """What serves `route`, or None when it serves what its config names: nothing was
        ever promoted for it, or every promote was rolled back."""
        ...

    def pointer_revision(self, route: str) -> Hashable | None:
        """A cheap token that changes whenever the route's pointer changes, a rollback to
        what the config names included (None: nothing was ever promoted for the route)."""
        ...

    def checkout(self, pointer: Pointer) -> Path:
        """The artifact a pointer names, as a local directory (fetched and verified)."""
        ...

    def promote(self, route: str, version_or_path: str | Path) -> Pointer:
        """Serve a version (or an artifact directory) on `route`; pushes onto its history."""
        ...

    def rollback(self, route: str) -> Pointer | None:
        """Serve again what served `route` before the last promote; from the first promoted
        version that is what the route's config names, and the answer is None."""
        ...

    def close(self) -> None:
        """Let go of a database connection (nothing for files)."""
        ...
