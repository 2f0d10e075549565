"""Loading a trained router or cascade artifact as a `ReplayableRouter`.

An artifact is a directory with a `manifest.json` holding at least `{"kind": ...}`. The kind
names a factory `load(directory: Path, manifest: dict) -> ReplayableRouter`, imported only
when an artifact of that kind is loaded. A manifest may also name its own factory as
`"replay": "package.module:function"`, so a new router plugs in without editing this file;
factories passed to `load_artifact` for the kind win over it.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eval.sweep import ReplayableRouter

ArtifactFactory = Callable[[Path, Mapping[str, Any]], ReplayableRouter]

MANIFEST = "manifest.json"


class ArtifactError(ValueError):
    """The artifact cannot be replayed; the message names the directory and the problem."""


def builtin_factories() -> dict[str, str]:
    """Artifact kind -> "module:function" of its replay factory."""
    return {
        "knn": "routers.knn.replay:load_replayable",
        "cascade": "routers.cascade.replay:load_replayable",
        "precomputed": "eval.precomputed:load_precomputed",
    }


def read_manifest(directory: Path) -> dict[str, Any]:
    """The artifact's manifest, checked to be a JSON object with a string `kind`."""
    if not directory.is_dir():
        raise ArtifactError(f"router artifact {directory}: no such directory")
    path = directory / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"router artifact {directory}: no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("kind"), str):
        raise ArtifactError(f"{path}: expected a JSON object with a string 'kind'")
    return manifest


def load_artifact(
    directory: str | Path, factories: Mapping[str, str | ArtifactFactory] | None = None
) -> ReplayableRouter:
    """The replayable router stored in `directory`, built by the factory for its kind."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    kind = manifest["kind"]
    table: Mapping[str, str | ArtifactFactory] = (
        builtin_factories() if factories is None else factories
    )
    # A factory the caller names for this kind wins over the manifest's own (a trainer
    # replays with its embedder); otherwise the manifest's, then the built-in one.
    chosen = factories.get(kind) if factories is not None else None
    target = chosen or manifest.get("replay") or table.get(kind)
    if target is None:
        known = ", ".join(sorted(table)) or "none"
        raise ArtifactError(
            f"router artifact {directory}: unknown kind {kind!r} (replayable kinds: {known}; "
            "or name a factory in the manifest's 'replay' field)"
        )
    factory = _resolve(target, directory, kind) if isinstance(target, str) else target
    router = factory(directory, manifest)
    if not isinstance(router, ReplayableRouter):
        raise ArtifactError(f"router artifact {directory}: factory did not return a router")
    return router


def _resolve(target: str, directory: Path, kind: str) -> ArtifactFactory:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ArtifactError(
            f"router artifact {directory}: kind {kind!r} needs {target}, "
            f"which cannot be imported ({exc})"
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ArtifactError(f"router artifact {directory}: {target} is not a function")
    return factory  # type: ignore[no-any-return]
