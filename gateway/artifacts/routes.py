"""Which artifact versions a route may serve: gateway.yaml's route table decides.

One rule for `router promote`, `train knn|cascade --from-records` and the serving watcher:

- the route must be in the config (`routes:`);
- a route configured with a learned router (`router: knn` or `router: cascade`) serves only
  artifacts of that kind: a k-NN version never answers on a cascade route;
- a route configured with a router that takes no artifact (`table`, `fixed`, `cheapest`,
  `minions`) serves a learned version only if that version was trained for it (its manifest's
  `version.route`, written by `train ... --from-records --route R`): the learning loop's
  start on a route that had nothing to learn from yet. A version trained for another route,
  or an artifact directory that names none, is refused there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.config import GatewayConfig, RouteConfig
from routers.versions.manifest import RegistryError

LEARNED = ("knn", "cascade")


def configured_route(config: GatewayConfig, route: str) -> RouteConfig:
    """The route's entry in the config; RegistryError naming the routes there when absent."""
    found = config.routes.get(route)
    if found is None:
        raise RegistryError(f"no route {route!r} in the config "
                            f"(routes: {', '.join(config.routes) or 'none'})")
    return found


def check_servable(config: GatewayConfig, route: str, manifest: Mapping[str, Any],
                   name: str | None = None) -> None:
    """RegistryError unless `route`'s configured router can serve the artifact of `manifest`
    (`name`: how messages call it, by default its version id)."""
    block = manifest.get("version")
    block = block if isinstance(block, Mapping) else {}
    kind = str(manifest.get("kind") or "unknown")
    name = name or str(block.get("id") or "the artifact")
    check_kind(config, route, kind, block.get("route"), name)


def check_kind(config: GatewayConfig, route: str, kind: str, trained_for: object,
               name: str) -> None:
    """As check_servable, for a `kind` artifact trained for route `trained_for` (or None)."""
    router = configured_route(config, route).router
    if kind == router:
        return
    if router in LEARNED:
        raise RegistryError(f"route {route!r} is configured with the {router} router, which "
                            f"serves {router} artifacts only; {name} is {kind}")
    if kind in LEARNED and trained_for == route:
        return  # the learning loop's start: a version trained for this very route
    trained = f"route {trained_for!r}" if trained_for else "no route"
    raise RegistryError(
        f"route {route!r} is configured with the {router} router, which takes no artifact; "
        f"{name} is {kind}, trained for {trained}: serve it on a route configured with "
        f"`router: {kind}`, or train a version for {route!r} (--route {route})")
