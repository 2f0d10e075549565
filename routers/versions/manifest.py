"""An artifact's manifest and the errors every registry backend raises."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class RegistryError(ValueError):
    """A version or path the registry cannot resolve; the message names it."""


class RegistryUnavailable(RegistryError):
    """The registry's storage cannot be reached now (a database outage): retry later."""


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


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Replace the manifest atomically (a reader sees the old one or the new one)."""
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def write_version_block(directory: Path, block: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `block` into the manifest's `version` entry, atomically; returns the manifest."""
    manifest = read_manifest(directory)
    manifest["version"] = {**manifest.get("version", {}), **block}
    write_manifest(directory, manifest)
    return manifest
