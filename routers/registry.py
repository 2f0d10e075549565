"""Building a router from its configured kind. Learned routers are imported only when used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routers.base import Orchestrator, Router
from routers.simple import CheapestRouter, FixedRouter, TableRouter


class RouterConfigError(ValueError):
    """A route's configuration cannot produce a router; the message names the route."""


def build_router(
    alias: str,
    kind: str,
    *,
    model: str | None = None,
    artifact: str | None = None,
    options: Mapping[str, Any] | None = None,
    quality: Mapping[str, float] | None = None,
) -> Router | Orchestrator:
    options = dict(options or {})
    if kind == "fixed":
        if not model:
            raise RouterConfigError(f"route {alias!r}: a fixed router needs `model`")
        return FixedRouter(model)
    if kind == "cheapest":
        return CheapestRouter()
    if kind == "table":
        table = dict(quality or {})
        table.update(options.get("quality", {}))
        return TableRouter(table)
    if kind == "knn":
        if not artifact:
            raise RouterConfigError(f"route {alias!r}: a knn router needs `artifact`")
        from routers.knn.router import load_knn_router

        return load_knn_router(artifact, **options)
    if kind == "cascade":
        if not artifact:
            raise RouterConfigError(f"route {alias!r}: a cascade needs `artifact`")
        from routers.cascade.orchestrator import load_cascade

        return load_cascade(artifact, **options)
    if kind in ("minion", "minions"):
        from routers.minions.orchestrator import build_minions

        try:
            return build_minions(kind, **options)
        except (TypeError, ValueError) as exc:
            raise RouterConfigError(f"route {alias!r}: {exc}") from None
    raise RouterConfigError(f"route {alias!r}: unknown router kind {kind!r}")
