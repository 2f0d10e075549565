"""Opening the artifact registry gateway.yaml's `artifacts:` block names (files or records)."""

from __future__ import annotations

from pathlib import Path

from gateway.config import GatewayConfig
from routers.versions.store import VersionStore


def registry_dir(config: GatewayConfig) -> Path:
    """`artifacts.dir` from gateway.yaml, else `$COSTROUTE_DATA_DIR/artifacts`.

    The file registry itself; with `store: records`, the replica's cache of fetched versions.
    """
    if config.artifacts.dir:
        return Path(config.artifacts.dir)
    from gateway.paths import data_dir

    return data_dir() / "artifacts"


def open_version_store(config: GatewayConfig) -> VersionStore:
    """The registry; a database is connected on first use, not here."""
    if config.artifacts.backend(config.records) == "files":
        from routers.versions.registry import ArtifactRegistry

        return ArtifactRegistry(registry_dir(config))
    from gateway.artifacts.db_registry import RecordsRegistry
    from gateway.artifacts.sync_db import Database, PostgresDatabase, SQLiteDatabase

    records = config.records
    database: Database
    if records.kind == "postgres":
        assert records.url is not None  # RecordsConfig checks it
        database = PostgresDatabase(records.url)
    else:  # sqlite: GatewayConfig refuses `store: records` over memory or none
        from gateway.paths import data_dir
        from gateway.records.factory import DEFAULT_FILE

        database = SQLiteDatabase(Path(records.path) if records.path
                                  else data_dir() / DEFAULT_FILE)
    return RecordsRegistry(database, registry_dir(config) / "cache")
