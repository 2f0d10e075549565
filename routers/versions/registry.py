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

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

VERSIONS = "versions"
SERVING = "serving"
MANIFEST = "manifest.json"
_ID = re.compile(r"^v(\d{4,})-([a-z]+)$")


class RegistryError(ValueError):
    """A version or path the registry cannot resolve; the message names it."""


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise RegistryError(f"{directory}: not a router artifact (no {MANIFEST})")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def version_id(manifest: Mapping[str, Any]) -> str | None:
    """The version id recorded in an artifact's manifest, if it has one."""
    block = manifest.get("version")
    return str(block["id"]) if isinstance(block, Mapping) and "id" in block else None


def write_version_block(directory: Path, block: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `block` into the manifest's `version` entry, atomically; returns the manifest."""
    manifest = read_manifest(directory)
    manifest["version"] = {**manifest.get("version", {}), **block}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)
    return manifest


class ArtifactRegistry:
    """Versions of router artifacts under one directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

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
                (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True),
                                            encoding="utf-8")
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
