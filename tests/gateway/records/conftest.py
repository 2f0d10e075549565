"""Records fixtures: a real PostgreSQL server per session, and the three stores behind one name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.records.base import RecordStore
from gateway.records.memory import MemoryRecordStore
from gateway.records.postgres import PostgresRecordStore
from gateway.records.spend_sql import SqlSpendHistory
from gateway.records.sqlite import SQLiteRecordStore
from tests.postgres_server import PostgresServer, running_server

STORE_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SQL_KINDS = STORE_KINDS[1:]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    yield from running_server()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh database on the session's server."""
    return pg_server.create_database()


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    made: RecordStore
    if request.param == "memory":
        made = MemoryRecordStore()
    elif request.param == "sqlite":
        made = SQLiteRecordStore(tmp_path / "records.sqlite3")
    else:
        made = PostgresRecordStore(request.getfixturevalue("pg_url"))
    yield made
    await made.aclose()


@pytest.fixture(params=SQL_KINDS)
async def history(request: pytest.FixtureRequest,
                  tmp_path: Path) -> AsyncIterator[SqlSpendHistory]:
    """Spend history in each SQL records store: SQLite, and PostgreSQL where installed."""
    made: SQLiteRecordStore | PostgresRecordStore
    if request.param == "sqlite":
        made = SQLiteRecordStore(tmp_path / "records.sqlite3")
    else:
        made = PostgresRecordStore(request.getfixturevalue("pg_url"))
    yield made
    await made.aclose()
