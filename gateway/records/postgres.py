"""The RecordStore for many replicas: PostgreSQL through psycopg 3 (async).

One connection per store, opened on first use and again after it breaks; calls take turns
on it (the outbox writes in batches, so one connection carries a replica's records). A
database that cannot be reached, or a connection lost mid-call, is RecordStoreUnavailable:
the outbox keeps the batch and retries, and the next call reconnects. Migrations run on
every (re)connect under a transaction-scoped advisory lock, so replicas starting together
apply each version once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from gateway.ledger.base import SettledEntry
from gateway.records.base import RecordStoreUnavailable
from gateway.records.migrations import SCHEMA_VERSION_TABLE, migrations
from gateway.records.spend_sql import SqlSpendHistory, store_spend_postgres
from gateway.records.sql import SqlRecordStore

# pg_advisory_xact_lock key: "costroute records schema", as a stable 63-bit integer.
MIGRATION_LOCK = 0x636F7374726F7574
CONNECT_TIMEOUT_S = 5


def _driver() -> Any:
    try:
        import psycopg
    except ModuleNotFoundError:  # pragma: no cover - psycopg is a core dependency
        raise RuntimeError("records kind `postgres` needs psycopg: pip install 'psycopg[binary]'")
    return psycopg


async def migrate_postgres(conn: Any) -> list[int]:
    """Applies the missing migrations in one transaction under the advisory lock."""
    applied = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(SCHEMA_VERSION_TABLE)
        cursor = await conn.execute("SELECT version FROM schema_version")
        done = {int(v) for (v,) in await cursor.fetchall()}
        for migration in migrations("postgres"):
            if migration.version in done:
                continue
            for statement in migration.statements():
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, time.time()))
            applied.append(migration.version)
    return applied


class PostgresRecordStore(SqlRecordStore, SqlSpendHistory):
    def __init__(self, url: str, *, spend_retention_days: float | None = None,
                 spend_hourly_retention_days: float | None = None):
        self.url = url
        self._keep_spend(spend_retention_days, spend_hourly_retention_days)
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connects and applies migrations now (otherwise on the first call)."""
        async with self._lock:
            await self._connection()

    async def _connection(self) -> Any:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        psycopg = _driver()
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as exc:
            raise RecordStoreUnavailable(f"records database: {_first_line(exc)}") from exc
        try:
            await migrate_postgres(conn)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn

    @contextlib.asynccontextmanager
    async def _connected(self) -> AsyncIterator[Any]:
        """The connection, held alone for the block. A lost connection is
        RecordStoreUnavailable, and the next call reconnects.

        Anything else that is not the server's answer (a cancelled task, a failure inside
        the driver) may have left the connection mid-protocol, so it is dropped as well. A
        cancel that lands while psycopg 3.3 sets up executemany's pipeline comes out as an
        AssertionError, and the connection can never run executemany again. The cancel is
        what happened, so that is what the caller gets.
        """
        psycopg = _driver()
        async with self._lock:
            try:
                yield await self._connection()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._drop()
                raise RecordStoreUnavailable(f"records database: {_first_line(exc)}") from exc
            except psycopg.Error:
                raise  # the server refused a statement: the connection is still good
            except BaseException as exc:
                await self._drop()
                task = asyncio.current_task()
                if (not isinstance(exc, asyncio.CancelledError) and task is not None
                        and task.cancelling()):
                    raise asyncio.CancelledError() from exc
                raise

    async def _call(self, sql: str, rows: Sequence[Sequence[Any]], many: bool) -> Any:
        sql = sql.replace("?", "%s")
        async with self._connected() as conn:
            if many:
                async with conn.transaction(), conn.cursor() as cursor:
                    await cursor.executemany(sql, rows)
                return None
            cursor = await conn.execute(sql, rows[0] if rows else ())
            return await cursor.fetchall()

    async def _write(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        await self._call(sql, rows, many=True)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        found: list[tuple[Any, ...]] = await self._call(sql, [tuple(params)], many=False)
        return found

    async def _delete(self, statements: Sequence[tuple[str, Sequence[Any]]],
                      dry_run: bool = False) -> list[int]:
        async with self._connected() as conn:
            counts: list[int] = []
            # A dry run raises Rollback at the end of its own transaction block.
            async with conn.transaction(force_rollback=dry_run), conn.cursor() as cursor:
                for sql, params in statements:
                    await cursor.execute(sql.replace("?", "%s"), tuple(params))
                    counts.append(cursor.rowcount)
            return counts

    async def _store_spend(self, entries: list[SettledEntry]) -> None:
        async with self._connected() as conn, conn.transaction():
            await store_spend_postgres(conn, entries)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # A broken connection may fail to close; it is gone either way.
            with contextlib.suppress(Exception):
                await conn.close()

    async def aclose(self) -> None:
        async with self._lock:
            await self._drop()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
