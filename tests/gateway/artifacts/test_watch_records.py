"""The serving watcher on the records-database registry: outages, broken versions.

Real parts: a PostgreSQL server of this test's own (it is killed and restarted), SQLite, k-NN
artifacts, the gateway's route table. The replica's registry object is not the trainer's:
its own connection, its own cache directory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.artifacts.db_registry import RecordsRegistry
from gateway.artifacts.sync_db import PostgresDatabase
from gateway.artifacts.watch import ServingWatcher
from gateway.assembly import build_routes
from gateway.config import parse_config
from routers.embedding import HashingEmbedder
from routers.knn.artifact import save_artifact
from routers.knn.fit import FitConfig, fit_knn
from routers.knn.predict import KnnParams
from routers.knn.train import TrainConfig
from tests.postgres_server import PostgresServer, running_server
from tests.routers.knn.synthetic import BIG, CHEAP, MID, synthetic

FAST = FitConfig(params=KnnParams(k=8), train=TrainConfig(epochs=2))

@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    yield from running_server()


@pytest.mark.postgres
def test_an_outage_keeps_the_current_version_serving_and_the_replica_catches_up(
        own_server: PostgresServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = own_server.create_database()
    trainer = RecordsRegistry(PostgresDatabase(url), tmp_path / "trainer")
    artifact = fit_knn(synthetic(80), HashingEmbedder(), FAST)
    first, second = (trainer.create("knn", lambda d: save_artifact(artifact, d))
                     for _ in range(2))
    configured = tmp_path / "configured"
    save_artifact(artifact, configured)
    trainer.promote("auto", first)
    config = parse_config({
        "models": [{"name": m, "upstream": {"base_url": "http://127.0.0.1:1/v1"}}
                   for m in (CHEAP, MID, BIG)],
        "routes": {"auto": {"router": "knn", "artifact": str(configured)}},
        "records": {"kind": "postgres", "url": url},
    })
    replica = RecordsRegistry(PostgresDatabase(url), tmp_path / "replica")
    watcher = ServingWatcher(replica, config, build_routes(config))
    try:
        own_server.kill()  # down at start-up: the replica starts on its configured router
        watcher.apply_now()
        assert watcher.serving == {}
        own_server.start()
        asyncio.run(watcher.check())
        assert watcher.serving == {"auto": first}
        serving = watcher.routes.router("auto")

        own_server.kill()  # down while serving: nothing changes, a warning says why
        with caplog.at_level(logging.WARNING, logger="costroute.artifacts"):
            asyncio.run(watcher.check())
        assert watcher.routes.router("auto") is serving
        assert "artifact registry unreachable" in caplog.text

        own_server.start()
        trainer.promote("auto", second)
        asyncio.run(watcher.check())
        assert watcher.serving == {"auto": second}
        assert watcher.routes.router("auto").version == second  # type: ignore[union-attr]
    finally:
        trainer.close()
        replica.close()


def test_a_broken_version_in_the_database_keeps_the_old_one_serving(tmp_path: Path) -> None:
    """SQLite records, in-process: a version whose files do not load is tried once, logged,
    and the next promote moves on."""
    from gateway.artifacts.sync_db import SQLiteDatabase

    db = tmp_path / "records.sqlite3"
    trainer = RecordsRegistry(SQLiteDatabase(db), tmp_path / "trainer")
    artifact = fit_knn(synthetic(80), HashingEmbedder(), FAST)
    good = trainer.create("knn", lambda d: save_artifact(artifact, d))

    def broken(directory: Path) -> None:
        save_artifact(artifact, directory)
        (directory / "scores.npy").write_bytes(b"not numpy")

    bad = trainer.create("knn", broken)
    config = parse_config({
        "models": [{"name": m, "upstream": {"base_url": "http://127.0.0.1:1/v1"}}
                   for m in (CHEAP, MID, BIG)],
        "routes": {"auto": {"router": "knn", "artifact": str(trainer.path(good))}},
        "records": {"kind": "sqlite", "path": str(db)}, "artifacts": {"store": "records"},
    })
    replica = RecordsRegistry(SQLiteDatabase(db), tmp_path / "replica")
    watcher = ServingWatcher(replica, config, build_routes(config))
    try:
        trainer.promote("auto", good)
        asyncio.run(watcher.check())
        serving = watcher.routes.router("auto")
        trainer.promote("auto", bad)
        asyncio.run(watcher.check())
        asyncio.run(watcher.check())
        assert watcher.routes.router("auto") is serving and watcher.serving == {"auto": good}
        trainer.rollback("auto")  # back to `good`, already serving: nothing to reload
        asyncio.run(watcher.check())
        assert watcher.routes.router("auto") is serving
    finally:
        trainer.close()
        replica.close()
