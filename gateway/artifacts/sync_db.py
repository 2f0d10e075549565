"""Blocking connections to the records database for the artifact registry.

The registry is called from the CLI and from the serving watcher's worker thread, never on
the event loop, so it uses the blocking drivers (sqlite3, psycopg's sync API) on its own
connection, apart from the async RecordStore. One connection per registry, opened on first
use and again after it breaks, used by one thread at a time (a lock). Migrations are the
records store's own (gateway/records/migrations), applied on connect under the same locks,
so whichever opens the database first creates the artifact tables. Any failure to reach
the database is RegistryUnavailable, which callers treat as "keep what you have, retry".
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from gateway.records.migrations import SCHEMA_VERSION_TABLE, migrations
from gateway.records.postgres import CONNECT_TIMEOUT_S, MIGRATION_LOCK
from gateway.records.sqlite import connect_sqlite
from routers.versions.manifest import RegistryUnavailable


class Conflict(Exception):
    """A unique key was taken by a concurrent writer: the caller retries."""


class Tx(Protocol):
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Executes a write; the number of rows it changed."""
        ...


class Database(Protocol):
    def describe(self) -> str: ...

    def transaction(self, write: bool = True) -> contextlib.AbstractContextManager[Tx]:
        """One transaction (committed on exit, rolled back on an exception); `write=False`
        for reads only, which then take no write lock (SQLite)."""
        ...

    def close(self) -> None: ...


class _Cursor:
    def __init__(self, conn: Any, placeholder: str):
        self.conn = conn
        self.placeholder = placeholder

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql.replace("?", self.placeholder), tuple(params)))

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self.conn.execute(sql.replace("?", self.placeholder), tuple(params))
        return int(cursor.rowcount)


class SQLiteDatabase:
    """The records SQLite file (WAL; a second writer waits `busy_timeout`)."""

    def __init__(self, path: Path):
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"records database {self.path}"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_sqlite(self.path)  # FULL: a promote survives a power cut
        return self._conn

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        with self._lock:
            try:
                conn = self._connection()
                # A writer takes the write lock first (so a compare-and-swap cannot race, nor
                # fail upgrading a stale read); a poll takes none, not to stall the records.
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.OperationalError as exc:
                raise RegistryUnavailable(f"{self.describe()}: {exc}") from exc
            try:
                yield _Cursor(conn, "?")
                conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise Conflict(str(exc)) from exc
            except sqlite3.OperationalError as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise RegistryUnavailable(f"{self.describe()}: {exc}") from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresDatabase:
    """The records PostgreSQL database (psycopg 3, blocking API, autocommit + transactions)."""

    def __init__(self, url: str):
        self.url = url
        self._conn: Any = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return f"records database {urlunsplit((parts.scheme, netloc, parts.path, '', ''))}"

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
            try:
                _migrate_postgres(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        import psycopg

        lost = (psycopg.OperationalError, psycopg.InterfaceError)
        with self._lock:
            try:
                with contextlib.ExitStack() as stack:  # its exit commits, or rolls back
                    try:
                        conn = self._connection()
                        stack.enter_context(conn.transaction())
                    except lost:
                        # A connection kept from before a database restart fails at BEGIN,
                        # before any work: one fresh connection, so a restart fails no call.
                        self._drop()
                        conn = self._connection()
                        stack.enter_context(conn.transaction())
                    yield _Cursor(conn, "%s")
            except psycopg.IntegrityError as exc:
                raise Conflict(str(exc)) from exc
            except lost as exc:
                self._drop()
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise RegistryUnavailable(f"{self.describe()}: {first}") from exc

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()


def _migrate_postgres(conn: Any) -> None:
    """gateway.records.postgres.migrate_postgres, on a blocking connection (same lock)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(SCHEMA_VERSION_TABLE)
        done = {int(v) for (v,) in conn.execute("SELECT version FROM schema_version")}
        for migration in migrations("postgres"):
            if migration.version in done:
                continue
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, time.time()))
