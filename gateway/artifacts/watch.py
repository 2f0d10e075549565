"""Serving what the registry's pointers say, on every replica, without a restart.

Each gateway checks the serving pointer of each of its routes every `artifacts.poll_s`
seconds, in a worker thread: one cheap read per route (a `stat` of the pointer file, or the
pointer row's revision in the records database); the pointer itself is read only when that
changed. When a pointer names another version, its files are checked out (fetched into the
local cache and verified, for the database), the artifact is loaded and warmed in the
worker thread, then swapped into the route table in one assignment. Requests that had
already resolved their route finish on the old router; the next ones get the new one, so a
promote or a rollback fails no request. A version that cannot be loaded is logged and the
old one keeps serving; a registry that cannot be reached (a database outage) is logged and
retried at the next poll, and the current artifact keeps serving meanwhile.

A pointer rolled back past its first promote names no version (`read_pointer` answers
None): the route goes back to what its config names, the configured artifact or a router
without one, built and warmed in the worker thread like a promoted version. A version the
route's configured router cannot serve (gateway.artifacts.routes) is refused like a broken one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable

from gateway.artifacts.routes import check_servable
from gateway.artifacts.stores import open_version_store, registry_dir
from gateway.config import GatewayConfig
from gateway.routing import RouteTable
from routers.base import Orchestrator, Router
from routers.registry import build_router
from routers.versions.manifest import RegistryError, RegistryUnavailable, read_manifest
from routers.versions.pointer import Pointer
from routers.versions.store import VersionStore

# What `_prepare` hands `_swap`: the version to serve (None: what the config names), its router.
Prepared = tuple[str | None, Router | Orchestrator]

__all__ = ["ServingWatcher", "registry_dir", "start_watching"]

log = logging.getLogger("costroute.artifacts")

WARM_UP_TEXT = "Warm-up: what is 2 + 2?"


class ServingWatcher:
    """Keeps a RouteTable's learned routes on the versions their pointers name."""

    def __init__(self, registry: VersionStore, config: GatewayConfig, routes: RouteTable):
        self.registry = registry
        self.config = config
        self.routes = routes
        self.serving: dict[str, str] = {}  # alias -> version now serving (from a pointer)
        self._seen: dict[str, Hashable] = {}  # alias -> pointer revision handled
        self._quality = {m.name: m.quality for m in config.models if m.quality is not None}

    def apply_now(self) -> None:
        """At start-up: serve what the pointers say before the first request."""
        for alias in self.config.routes:
            try:
                prepared = self._prepare(alias)
                if prepared is not None:
                    self._swap(alias, *prepared)
            except RegistryUnavailable as exc:
                log.warning("artifact registry unreachable at start-up (%s); the routes serve "
                            "their configured routers until a poll reaches it", exc)
                return  # one connect timeout at start-up, not one per route
            except Exception:  # a broken version or an outage must not stop a replica starting
                log.exception("cannot serve the promoted version of route %s; serving its "
                              "configured router (retried at the next poll)", alias)

    async def check(self) -> None:
        """One poll of every route's pointer; swaps where a new version is named."""
        for alias in self.config.routes:
            try:
                prepared = await asyncio.to_thread(self._prepare, alias)
            except RegistryUnavailable as exc:
                log.warning("artifact registry unreachable (%s); route %s keeps serving %s",
                            exc, alias, self.serving.get(alias, "its configured router"))
                continue
            except RegistryError:
                log.exception("unreadable serving pointer of route %s", alias)
                continue
            if prepared is not None:
                self._swap(alias, *prepared)  # on the event loop: requests see one table or the other

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.check()
            except Exception:
                log.exception("artifact pointer check failed")

    def _prepare(self, alias: str) -> Prepared | None:
        """Blocking (a worker thread): when the pointer moved, what it names loaded."""
        revision = self.registry.pointer_revision(alias)
        if self._seen.get(alias) == revision:  # unchanged, or never promoted (None)
            return None
        pointer = self.registry.read_pointer(alias)
        version = pointer.version if pointer is not None else None
        if version == self.serving.get(alias):  # already serving it (None: the config's)
            self._seen[alias] = revision
            return None
        try:
            router = (self._load(alias, pointer) if pointer is not None
                      else self._load_configured(alias))
        except RegistryUnavailable:
            raise  # not seen: the next poll fetches again
        except Exception:  # a bad version must never take the serving one down
            self._seen[alias] = revision  # tried once; the next promote or rollback moves on
            log.exception("cannot load %s for route %s; %s keeps serving",
                          version or "its configured router", alias,
                          self.serving.get(alias, "the configured router"))
            return None
        self._seen[alias] = revision
        return version, router

    def _load(self, alias: str, pointer: Pointer) -> Router | Orchestrator:
        directory = self.registry.checkout(pointer)
        manifest = read_manifest(directory)
        check_servable(self.config, alias, manifest, pointer.version)
        route = self.config.routes[alias]
        router = build_router(alias, str(manifest["kind"]), artifact=str(directory),
                              options=route.options, quality=self._quality)
        _warm(router)
        return router

    def _load_configured(self, alias: str) -> Router | Orchestrator:
        """What the route's config names, built as at start-up (gateway.assembly)."""
        route = self.config.routes[alias]
        router = build_router(alias, route.router, model=route.model, artifact=route.artifact,
                              options=route.options, quality=self._quality)
        _warm(router)
        return router

    def _swap(self, alias: str, version: str | None, router: Router | Orchestrator) -> None:
        self.routes.replace_router(alias, router)
        previous = self.serving.get(alias, "the configured router")
        if version is None:
            self.serving.pop(alias, None)
        else:
            self.serving[alias] = version
        now = version or "the configured router"
        log.info("route %s now serves %s (was %s)", alias, now, previous,
                 extra={"fields": {"route": alias, "version": version}})


def _warm(router: object) -> None:
    """Load the embedder and run one query, so the first request after the swap is not slow."""
    embed = getattr(router, "embed_prompts", None)
    if callable(embed):
        embed([WARM_UP_TEXT])


def start_watching(
    config: GatewayConfig, routes: RouteTable
) -> tuple[ServingWatcher, Callable[[], Awaitable[None]]]:
    """Apply the pointers now and poll them from now on; returns the watcher and its stop."""
    registry = open_version_store(config)
    watcher = ServingWatcher(registry, config, routes)
    watcher.apply_now()
    task = asyncio.get_running_loop().create_task(watcher.run(config.artifacts.poll_s))

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(registry.close)

    return watcher, stop
