"""Schema migrations: applied on open, once, also when several openers race."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from gateway.records import postgres as pg_module
from gateway.records import sqlite as sqlite_module
from gateway.records.migrations import Migration, latest_version, migrations
from gateway.records.postgres import PostgresRecordStore, migrate_postgres
from gateway.records.sqlite import SQLiteRecordStore, migrate_sqlite
from tests.gateway.records.samples import request

# A migration shipped after the current ones: joins an existing database.
NEXT = latest_version("sqlite") + 1
SPEND = Migration(NEXT, "spend_test", "CREATE TABLE spend_test (request_id TEXT PRIMARY KEY);\n"
                                   "CREATE INDEX spend_test_id ON spend_test (request_id);")


def test_each_dialect_has_the_same_versions() -> None:
    assert [m.version for m in migrations("sqlite")] == [m.version for m in migrations("postgres")]
    assert latest_version("sqlite") >= 1


def _versions_sqlite(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]


async def test_sqlite_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    for _ in range(2):
        store = SQLiteRecordStore(path)
        await store.open()
        await store.write_requests([request("r1")])
        await store.aclose()
    assert _versions_sqlite(path) == [m.version for m in migrations("sqlite")]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_openers_racing_apply_each_version_once(tmp_path: Path) -> None:
    path = tmp_path / "race.sqlite3"
    barrier = threading.Barrier(6)
    applied: list[list[int]] = []

    def opener() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        barrier.wait()
        applied.append(migrate_sqlite(conn))
        conn.close()

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(applied, key=len) == [[]] * 5 + [[m.version for m in migrations("sqlite")]]


async def test_sqlite_a_new_migration_joins_an_existing_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "records.sqlite3"
    store = SQLiteRecordStore(path)
    await store.write_requests([request("kept")])
    await store.aclose()
    monkeypatch.setattr(sqlite_module, "migrations", lambda d: [*migrations(d), SPEND])
    store = SQLiteRecordStore(path)
    assert await store.get_request("acme", "kept") is not None
    await store.aclose()
    assert _versions_sqlite(path)[-1] == NEXT


@pytest.mark.postgres
async def test_postgres_openers_racing_apply_each_version_once(pg_url: str) -> None:
    conns = [await psycopg.AsyncConnection.connect(pg_url, autocommit=True) for _ in range(6)]
    try:
        applied = await asyncio.gather(*(migrate_postgres(c) for c in conns))
        assert sorted(applied, key=len) == [[]] * 5 + [[m.version for m in
                                                        migrations("postgres")]]
        cursor = await conns[0].execute("SELECT version FROM schema_version ORDER BY 1")
        assert [v for (v,) in await cursor.fetchall()] == [m.version for m in
                                                           migrations("postgres")]
    finally:
        for conn in conns:
            await conn.close()


@pytest.mark.postgres
async def test_postgres_stores_starting_together_all_serve(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stores = [PostgresRecordStore(pg_url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    await asyncio.gather(*(s.write_requests([request(f"r{i}")]) for i, s in enumerate(stores)))
    assert (await stores[0].counts("acme")).requests == 4
    for store in stores:
        await store.aclose()
    monkeypatch.setattr(pg_module, "migrations", lambda d: [*migrations(d), SPEND])
    store = PostgresRecordStore(pg_url)
    assert await store.get_request("acme", "r0") is not None  # data kept across the upgrade
    rows = await store._fetch("SELECT version FROM schema_version ORDER BY 1")
    assert [v for (v,) in rows] == [*range(1, NEXT), NEXT]
    await store.aclose()
