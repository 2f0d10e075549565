"""The serving watcher in-process: a promote swaps the route's router; requests that had
resolved keep the old one; unreadable pointers and broken versions change nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from gateway.artifacts.db_registry import RecordsRegistry
from gateway.artifacts.sync_db import SQLiteDatabase
from gateway.artifacts.watch import ServingWatcher
from gateway.assembly import build_routes
from gateway.config import parse_config
from gateway.routing import Routed
from gateway.tenants.config import TenantConfig
from routers.embedding import HashingEmbedder
from routers.knn.artifact import save_artifact
from routers.knn.fit import FitConfig, fit_knn
from routers.knn.predict import KnnParams
from routers.knn.train import TrainConfig
from routers.versions.manifest import write_version_block
from routers.versions.pointer import pointer_file, promote
from routers.versions.registry import ArtifactRegistry
from routers.versions.store import VersionStore
from tests.routers.knn.synthetic import BIG, CHEAP, MID, synthetic

FAST = FitConfig(params=KnnParams(k=8), train=TrainConfig(epochs=2))


def _setup(tmp_path: Path) -> tuple[ArtifactRegistry, list[str], ServingWatcher]:
    registry = ArtifactRegistry(tmp_path / "reg")
    artifact = fit_knn(synthetic(80), HashingEmbedder(), FAST)
    versions = [registry.create("knn", lambda d: save_artifact(artifact, d)) for _ in range(2)]
    config = parse_config({
        "models": [{"name": m, "upstream": {"base_url": "http://127.0.0.1:1/v1"}}
                   for m in (CHEAP, MID, BIG)],
        "routes": {"auto": {"router": "knn", "artifact": str(registry.path(versions[0]))}},
        "artifacts": {"dir": str(registry.root)},
    })
    return registry, versions, ServingWatcher(registry, config, build_routes(config))


def test_a_promote_swaps_and_resolved_requests_keep_their_router(tmp_path: Path) -> None:
    registry, (_first, second), watcher = _setup(tmp_path)
    tenant = TenantConfig(name="t", key_sha256=["0" * 64])
    before = watcher.routes.resolve("auto", tenant)
    assert isinstance(before, Routed)
    promote(registry, "auto", second)
    asyncio.run(watcher.check())
    after = watcher.routes.resolve("auto", tenant)
    assert isinstance(after, Routed) and after.router is not before.router
    assert after.router.version == second  # type: ignore[union-attr]
    assert before.router.version != second  # type: ignore[union-attr]
    assert watcher.serving == {"auto": second}
    router = after.router
    asyncio.run(watcher.check())  # unchanged pointer: nothing reloaded
    assert watcher.routes.router("auto") is router


def test_unreadable_pointers_and_broken_versions_change_nothing(tmp_path: Path) -> None:
    registry, (first, second), watcher = _setup(tmp_path)
    serving = watcher.routes.router("auto")
    registry.serving_dir.mkdir(parents=True)
    pointer_file(registry, "auto").write_text("{not json")
    asyncio.run(watcher.check())
    assert watcher.routes.router("auto") is serving
    pointer_file(registry, "auto").unlink()  # promote refuses to overwrite a corrupt pointer
    (registry.path(second) / "scores.npy").write_bytes(b"broken")
    promote(registry, "auto", second)
    asyncio.run(watcher.check())
    assert watcher.routes.router("auto") is serving and watcher.serving == {}
    promote(registry, "auto", first)
    asyncio.run(watcher.check())
    assert watcher.serving == {"auto": first}


@pytest.mark.parametrize("backend", ["files", "sqlite"])
def test_rolling_back_the_first_promote_serves_what_the_config_names_again(
        tmp_path: Path, backend: str) -> None:
    """Two replicas (each its own registry handle, and for the database its own cache) follow
    a promote and then its rollback back to the route's configured router: the configured
    artifact on `auto`, the table router on a route that had no artifact."""
    trainer, replica = (_store(tmp_path, backend, name) for name in ("trainer", "replica"))
    artifact = fit_knn(synthetic(80), HashingEmbedder(), FAST)
    configured = tmp_path / "configured"
    save_artifact(artifact, configured)
    write_version_block(configured, {"id": "default-knn-test"})
    promoted = trainer.create("knn", lambda d: save_artifact(artifact, d))
    for_table = trainer.create("knn", lambda d: save_artifact(artifact, d))
    trainer.annotate(for_table, {"route": "router:table"})  # trained for it: it may serve it
    config = parse_config({
        "models": [{"name": m, "upstream": {"base_url": "http://127.0.0.1:1/v1"}}
                   for m in (CHEAP, MID, BIG)],
        "routes": {"auto": {"router": "knn", "artifact": str(configured)},
                   "router:table": {"router": "table"}},
        "records": {"kind": "sqlite", "path": str(tmp_path / "records.sqlite3")},
    })
    watchers = [ServingWatcher(store, config, build_routes(config))
                for store in (replica, _store(tmp_path, backend, "replica2"))]
    tenant = TenantConfig(name="t", key_sha256=["0" * 64])

    def served(watcher: ServingWatcher, route: str) -> tuple[str, str | None]:
        target = watcher.routes.resolve(route, tenant)
        assert isinstance(target, Routed)
        return type(target.router).__name__, getattr(target.router, "version", None)

    def poll() -> None:
        for watcher in watchers:
            asyncio.run(watcher.check())

    try:
        poll()
        configured_auto = served(watchers[0], "auto")
        assert configured_auto[1] == "default-knn-test"
        assert served(watchers[0], "router:table") == ("TableRouter", None)
        trainer.promote("auto", promoted)
        trainer.promote("router:table", for_table)
        poll()
        for watcher in watchers:
            assert served(watcher, "auto") == (configured_auto[0], promoted)
            assert served(watcher, "router:table")[1] == for_table
            assert watcher.serving == {"auto": promoted, "router:table": for_table}
        assert trainer.rollback("auto") is None and trainer.rollback("router:table") is None
        poll()
        for watcher in watchers:
            assert served(watcher, "auto") == configured_auto
            assert served(watcher, "router:table") == ("TableRouter", None)
            assert watcher.serving == {}
        router = watchers[0].routes.router("auto")
        poll()  # the pointer did not move again: nothing rebuilt
        assert watchers[0].routes.router("auto") is router
        trainer.promote("auto", promoted)  # and a promote from there swaps as the first did
        poll()
        assert all(served(w, "auto") == (configured_auto[0], promoted) for w in watchers)
    finally:
        for store in (trainer, replica, *(w.registry for w in watchers[1:])):
            store.close()


def test_a_version_of_a_kind_the_route_cannot_serve_is_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A pointer written before promote checked kinds (or by hand): the watcher refuses it
    like a broken version, and the configured router keeps serving."""
    registry, (first, _second), watcher = _setup(tmp_path)
    serving = watcher.routes.router("auto")
    cascade = registry.create("cascade", lambda d: (d / "manifest.json").write_text(
        json.dumps({"kind": "cascade"})))
    promote(registry, "auto", cascade)
    with caplog.at_level(logging.ERROR, logger="costroute.artifacts"):
        asyncio.run(watcher.check())
    assert watcher.routes.router("auto") is serving and watcher.serving == {}
    assert f"serves knn artifacts only; {cascade} is cascade" in caplog.text
    promote(registry, "auto", first)
    asyncio.run(watcher.check())
    assert watcher.serving == {"auto": first}


def _store(tmp_path: Path, backend: str, name: str) -> VersionStore:
    if backend == "files":
        return ArtifactRegistry(tmp_path / "reg")
    return RecordsRegistry(SQLiteDatabase(tmp_path / "records.sqlite3"), tmp_path / name)
