"""The serving watcher in-process: a promote swaps the route's router; requests that had
resolved keep the old one; unreadable pointers and broken versions change nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
from routers.versions.pointer import pointer_file, promote
from routers.versions.registry import ArtifactRegistry
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
