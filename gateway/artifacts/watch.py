"""Serving what the registry's pointers say, on every replica, without a restart.

Each gateway checks the serving pointer of each of its routes every `artifacts.poll_s`
seconds (one `stat` per route; the file is read only when it changed). When a pointer names
another version, the new artifact is loaded and warmed in a worker thread, then swapped
into the route table in one assignment. Requests that had already resolved their route
finish on the old router; the next ones get the new one, so a promote or a rollback fails
no request. A version that cannot be loaded is logged and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig
from gateway.routing import RouteTable
from routers.base import Orchestrator, Router
from routers.registry import build_router
from routers.versions.pointer import Pointer, pointer_file, read_pointer
from routers.versions.registry import ArtifactRegistry, RegistryError, read_manifest

log = logging.getLogger("costroute.artifacts")

StatKey = tuple[int, int, int]
WARM_UP_TEXT = "Warm-up: what is 2 + 2?"


def registry_dir(config: GatewayConfig) -> Path:
    """`artifacts.dir` from gateway.yaml, else `$COSTROUTE_DATA_DIR/artifacts`."""
    if config.artifacts.dir:
        return Path(config.artifacts.dir)
    from gateway.paths import data_dir

    return data_dir() / "artifacts"


class ServingWatcher:
    """Keeps a RouteTable's learned routes on the versions their pointers name."""

    def __init__(self, registry: ArtifactRegistry, config: GatewayConfig, routes: RouteTable):
        self.registry = registry
        self.config = config
        self.routes = routes
        self.serving: dict[str, str] = {}  # alias -> version now serving (from a pointer)
        self._seen: dict[str, StatKey] = {}
        self._quality = {m.name: m.quality for m in config.models if m.quality is not None}

    def apply_now(self) -> None:
        """At start-up: serve what the pointers say before the first request."""
        for alias in self.config.routes:
            try:
                pointer = self._changed_pointer(alias)
                if pointer is not None:
                    self._swap(alias, pointer, self._load(alias, pointer))
            except Exception:  # a broken promoted version must not stop a replica starting
                log.exception("cannot serve the promoted version of route %s; serving its "
                              "configured router", alias)

    async def check(self) -> None:
        """One poll of every route's pointer; swaps where a new version is named."""
        for alias in self.config.routes:
            try:
                pointer = self._changed_pointer(alias)
            except RegistryError:
                log.exception("unreadable serving pointer of route %s", alias)
                continue
            if pointer is None:
                continue
            try:
                router = await asyncio.to_thread(self._load, alias, pointer)
            except Exception:  # a bad version must never take the serving one down
                log.exception("cannot load %s for route %s; %s keeps serving", pointer.version,
                              alias, self.serving.get(alias, "the configured router"))
                continue
            self._swap(alias, pointer, router)

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.check()
            except Exception:
                log.exception("artifact pointer check failed")

    def _changed_pointer(self, alias: str) -> Pointer | None:
        path = pointer_file(self.registry, alias)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if self._seen.get(alias) == key:
            return None
        self._seen[alias] = key
        pointer = read_pointer(self.registry, alias)
        if pointer is None or pointer.version == self.serving.get(alias):
            return None
        return pointer

    def _load(self, alias: str, pointer: Pointer) -> Router | Orchestrator:
        kind = str(read_manifest(pointer.path)["kind"])
        route = self.config.routes[alias]
        router = build_router(alias, kind, artifact=str(pointer.path), options=route.options,
                              quality=self._quality)
        _warm(router)
        return router

    def _swap(self, alias: str, pointer: Pointer, router: Router | Orchestrator) -> None:
        self.routes.replace_router(alias, router)
        previous = self.serving.get(alias, "the configured router")
        self.serving[alias] = pointer.version
        log.info("route %s now serves %s (was %s)", alias, pointer.version, previous,
                 extra={"fields": {"route": alias, "version": pointer.version}})


def _warm(router: Any) -> None:
    """Load the embedder and run one query, so the first request after the swap is not slow."""
    embed = getattr(router, "embed_prompts", None)
    if callable(embed):
        embed([WARM_UP_TEXT])


def start_watching(
    config: GatewayConfig, routes: RouteTable
) -> tuple[ServingWatcher, Callable[[], Awaitable[None]]]:
    """Apply the pointers now and poll them from now on; returns the watcher and its stop."""
    watcher = ServingWatcher(ArtifactRegistry(registry_dir(config)), config, routes)
    watcher.apply_now()
    task = asyncio.get_running_loop().create_task(watcher.run(config.artifacts.poll_s))

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return watcher, stop
