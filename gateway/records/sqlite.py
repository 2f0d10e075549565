"""The embedded RecordStore: one SQLite file in WAL mode, worked on by one dedicated thread.

sqlite3 blocks, so every call runs on the store's own single thread (the event loop never
waits on disk) and that thread owns the one connection. WAL lets `costroute learn status`
read while a gateway writes; `busy_timeout` makes a second process wait for the write lock
instead of failing at once. An I/O error or a lock held past the timeout is
RecordStoreUnavailable: the outbox keeps the batch and retries.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from gateway.ledger.base import SettledEntry
from gateway.records.base import RecordStoreUnavailable
from gateway.records.migrations import SCHEMA_VERSION_TABLE, migrations
from gateway.records.spend_sql import SqlSpendHistory, store_spend_sqlite
from gateway.records.sql import SqlRecordStore

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000


def migrate_sqlite(conn: sqlite3.Connection) -> list[int]:
    """Applies the missing migrations in one IMMEDIATE transaction; the versions applied."""
    conn.execute("BEGIN IMMEDIATE")  # takes the write lock first: a second opener waits here
    try:
        conn.execute(SCHEMA_VERSION_TABLE)
        done = {int(v) for (v,) in conn.execute("SELECT version FROM schema_version")}
        applied = []
        for migration in migrations("sqlite"):
            if migration.version in done:
                continue
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?,?,?)",
                         (migration.version, migration.name, time.time()))
            applied.append(migration.version)
        conn.execute("COMMIT")
        return applied
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def connect_sqlite(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    """A WAL connection to the records file, migrated, for use from one thread at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        migrate_sqlite(conn)
    except BaseException:
        conn.close()
        raise
    return conn


class SQLiteRecordStore(SqlRecordStore, SqlSpendHistory):
    def __init__(self, path: str | Path, *, spend_retention_days: float | None = None,
                 spend_hourly_retention_days: float | None = None):
        self.path = Path(path)
        self._keep_spend(spend_retention_days, spend_hourly_retention_days)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="records-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Creates the file and applies migrations now (otherwise on the first call)."""
        await self._run(lambda conn: None)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # NORMAL: durable at WAL checkpoints, and fast; the outbox replays a lost batch.
            self._conn = connect_sqlite(self.path, synchronous="NORMAL")
        return self._conn

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return work(self._connection())
            except sqlite3.OperationalError as exc:
                raise RecordStoreUnavailable(f"records database {self.path}: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _write(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._run(write)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._run(lambda conn: list(conn.execute(sql, tuple(params))))

    async def _delete(self, statements: Sequence[tuple[str, Sequence[Any]]],
                      dry_run: bool = False) -> list[int]:
        def delete(conn: sqlite3.Connection) -> list[int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts = [conn.execute(sql, tuple(params)).rowcount
                          for sql, params in statements]
                conn.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return counts

        return await self._run(delete)

    async def _store_spend(self, entries: list[SettledEntry]) -> None:
        await self._run(lambda conn: store_spend_sqlite(conn, entries))

    async def aclose(self) -> None:
        def close(conn: sqlite3.Connection | None) -> None:
            if conn is not None:
                conn.close()
            self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, close, self._conn)
        self._executor.shutdown(wait=True)
