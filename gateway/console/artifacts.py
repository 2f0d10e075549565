"""The router artifact registry as the Learning page shows it: versions, metrics, what serves."""

from __future__ import annotations

from typing import Any

from gateway.artifacts.stores import open_version_store
from gateway.config import GatewayConfig
from routers.versions.registry import RegistryError
from routers.versions.store import VersionStore


def artifact_versions(config: GatewayConfig) -> dict[str, Any]:
    """Every version (oldest first) with its held-out metrics, and each route's serving one."""
    registry = open_version_store(config)
    try:
        versions = [_version(registry, v) for v in registry.versions()]
        serving = {}
        for route in registry.routes():
            pointer = registry.read_pointer(route)
            serving[route] = pointer.version if pointer else None
    except (RegistryError, OSError, ValueError) as exc:
        return {"versions": [], "serving": {}, "error": f"the registry cannot be read: {exc}"}
    finally:
        registry.close()
    return {"versions": versions, "serving": serving}


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
