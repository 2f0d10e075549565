"""The router artifact registry as the Learning page shows it: versions, metrics, what serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.artifacts.stores import open_version_store
from gateway.config import GatewayConfig
from routers.versions.manifest import read_manifest, version_id
from routers.versions.registry import RegistryError
from routers.versions.store import VersionStore


def artifact_versions(config: GatewayConfig) -> dict[str, Any]:
    """Every version (oldest first) with its held-out metrics, each route's promoted version
    (`serving`, None: its configured artifact), and the artifact each route is configured
    with (`configured`: a version id where its manifest has one, like the shipped defaults)."""
    configured = _configured(config)
    registry = open_version_store(config)
    try:
        versions = [_version(registry, v) for v in registry.versions()]
        serving = {}
        for route in registry.routes():
            pointer = registry.read_pointer(route)
            serving[route] = pointer.version if pointer else None
    except (RegistryError, OSError, ValueError) as exc:
        return {"versions": [], "serving": {}, "configured": configured,
                "error": f"the registry cannot be read: {exc}"}
    finally:
        registry.close()
    return {"versions": versions, "serving": serving, "configured": configured}


def _configured(config: GatewayConfig) -> dict[str, str]:
    out = {}
    for name, route in config.routes.items():
        if not route.artifact:
            continue
        folder = Path(route.artifact)
        try:
            out[name] = version_id(read_manifest(folder)) or folder.name
        except (RegistryError, OSError, ValueError):
            out[name] = folder.name
    return out


def _version(registry: VersionStore, version: str) -> dict[str, Any]:
    block = registry.manifest(version).get("version") or {}
    data = block.get("data") or {}
    held_out = (block.get("metrics") or {}).get("artifact") or {}
    return {
        "id": version, "kind": block.get("kind"), "created_at": block.get("created_at"),
        "parent": block.get("parent"), "prompts": data.get("n_prompts"),
        "labels": data.get("n_labels"),
        # Held-out figures only (AIQ, accuracy, cost): numbers, never paths or commands.
        "metrics": {k: v for k, v in held_out.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)},
    }
