"""The router artifact registry as the Learning page shows it: versions, metrics, what serves."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from gateway.artifacts.watch import registry_dir
from gateway.config import GatewayConfig
from routers.versions.pointer import read_pointer
from routers.versions.registry import ArtifactRegistry, RegistryError


def artifact_versions(config: GatewayConfig) -> dict[str, Any]:
    """Every version (oldest first) with its held-out metrics, and each route's serving one."""
    registry = ArtifactRegistry(registry_dir(config))
    try:
        ids = registry.versions() if registry.versions_dir.is_dir() else []
        versions = [_version(registry, v) for v in ids]
        routes = sorted({unquote(p.stem) for p in registry.serving_dir.glob("*.json")}
                        if registry.serving_dir.is_dir() else set())
        serving = {}
        for route in routes:
            pointer = read_pointer(registry, route)
            serving[route] = pointer.version if pointer else None
    except (RegistryError, OSError, ValueError) as exc:
        return {"versions": [], "serving": {}, "error": f"the registry cannot be read: {exc}"}
    return {"versions": versions, "serving": serving}


def _version(registry: ArtifactRegistry, version: str) -> dict[str, Any]:
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
