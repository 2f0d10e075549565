"""Artifact fixtures: the session's PostgreSQL server, and one VersionStore per backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.artifacts.db_registry import RecordsRegistry
from gateway.artifacts.sync_db import PostgresDatabase, SQLiteDatabase
from routers.versions.registry import ArtifactRegistry
from routers.versions.store import VersionStore
from tests.gateway.records.conftest import pg_server, pg_url  # noqa: F401 - fixtures

BACKENDS = ["files", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
DB_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Opens another handle on the same registry (a second replica: its own connection and cache).
OpenReplica = Callable[[str], VersionStore]


@pytest.fixture
def open_replica(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenReplica]:
    backend = request.param
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    opened: list[VersionStore] = []

    def open_one(name: str) -> VersionStore:
        store: VersionStore
        if backend == "files":
            store = ArtifactRegistry(tmp_path / "registry")
        elif backend == "sqlite":
            store = RecordsRegistry(SQLiteDatabase(tmp_path / "records.sqlite3"),
                                    tmp_path / name / "cache")
        else:
            assert url is not None
            store = RecordsRegistry(PostgresDatabase(url), tmp_path / name / "cache")
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
