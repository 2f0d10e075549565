"""The artifact registry: one directory per trained version, each with its manifest.

Layout of a registry directory (`artifacts: {dir: ...}` in gateway.yaml; default
`$COSTROUTE_DATA_DIR/artifacts`):

    versions/v0001-knn/     a k-NN or cascade artifact; its manifest.json has a `version` block
    versions/v0002-knn/
    serving/auto.json       the serving pointer of route `auto` (routers.versions.pointer)

A version is written to a hidden temporary directory and renamed into place, so a version
directory either is complete or does not exist; ids are allocated by that rename, so two
trainings running at once never share one.

The `version` block of a manifest:

    id, kind, created_at, parent (the version serving the route when training started),
    command (how it was trained), data {source, tenant, data_hash, n_prompts, n_models,
    n_labels, held_out {rule, n}}, metrics (held-out AIQ, accuracy and cost)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from routers.versions import pointer as pointers
from routers.versions.manifest import (
    MANIFEST,
    RegistryError,
    RegistryUnavailable,
    read_manifest,
    version_id,
    write_manifest,
    write_version_block,
)
from routers.versions.pointer import Pointer

__all__ = ["MANIFEST", "ArtifactRegistry", "RegistryError", "RegistryUnavailable",
           "read_manifest", "version_id", "write_version_block"]

VERSIONS = "versions"
SERVING = "serving"
_ID = re.compile(r"^v(\d{4,})-([a-z]+)$")


class ArtifactRegistry:
    """Versions of router artifacts under one directory: the file backend of VersionStore."""

    def __init__(self, root: str | Path):
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def describe(self) -> str:
        return f"registry {self.root}"

    @property
    def versions_dir(self) -> Path:
        return self.root / VERSIONS

    @property
    def serving_dir(self) -> Path:
        return self.root / SERVING

    def versions(self) -> list[str]:
        """Version ids, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        found = [(int(m.group(1)), p.name) for p in self.versions_dir.iterdir()
                 if (m := _ID.match(p.name)) and (p / MANIFEST).is_file()]
        return [name for _, name in sorted(found)]

    def path(self, version_or_path: str | Path) -> Path:
        """A version id of this registry, or an artifact directory anywhere."""
        candidate = self.versions_dir / str(version_or_path)
        if (candidate / MANIFEST).is_file():
            return candidate
        direct = Path(version_or_path)
        if (direct / MANIFEST).is_file():
            return direct.resolve()
        known = ", ".join(self.versions()[-5:]) or "none"
        raise RegistryError(
            f"{version_or_path}: no such version in {self.root} (latest: {known}) "
            "and no artifact directory at that path")

    def manifest(self, version_or_path: str | Path) -> dict[str, Any]:
        return read_manifest(self.path(version_or_path))

    def create(self, kind: str, write: Callable[[Path], None]) -> str:
        """Write a new version with `write(directory)` and publish it; returns its id.

        `write` fills a temporary directory; the rename that publishes it also claims the
        next free id, so a concurrent trainer simply takes the one after.
        """
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.versions_dir))
        try:
            write(tmp)
            while True:
                new_id = f"v{self._next_number():04d}-{kind}"
                manifest = read_manifest(tmp)
                manifest.setdefault("version", {})["id"] = new_id
                write_manifest(tmp, manifest)
                try:
                    os.rename(tmp, self.versions_dir / new_id)
                    return new_id
                except OSError:
                    if not (self.versions_dir / new_id).exists():
                        raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.versions_dir.iterdir()
                   if (m := _ID.match(p.name))]
        return max(numbers, default=0) + 1

    def annotate(self, version: str, block: Mapping[str, Any]) -> dict[str, Any]:
        return write_version_block(self.path(version), block)

    def routes(self) -> list[str]:
        if not self.serving_dir.is_dir():
            return []
        return sorted(unquote(p.stem) for p in self.serving_dir.glob("*.json"))

    def read_pointer(self, route: str) -> Pointer | None:
        return pointers.read_pointer(self, route)

    def pointer_revision(self, route: str) -> Hashable | None:
        """The pointer file's (mtime, size, inode): one `stat`, read only when it changes."""
        try:
            st = os.stat(pointers.pointer_file(self, route))
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def checkout(self, pointer: Pointer) -> Path:
        read_manifest(pointer.path)  # a clear error where the directory has gone
        return pointer.path

    def promote(self, route: str, version_or_path: str | Path) -> Pointer:
        return pointers.promote(self, route, version_or_path)

    def rollback(self, route: str) -> Pointer | None:
        return pointers.rollback(self, route)

    def close(self) -> None:
        """Nothing is held open between calls."""
