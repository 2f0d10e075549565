"""The spend history's SQL, shared by the SQLite and PostgreSQL record stores.

A batch is written in one transaction: the `spend` rows (a repeated tenant + request id is
skipped), their windows, and, for the rows that were new only, the deltas of the daily
totals in `spend_daily`. So a retried or duplicated batch changes nothing, and the totals
always equal the rows. Reports read `spend_daily` (a few thousand rows for a month, however
many requests) unless a time bound falls inside a UTC day; then they read `spend` itself
(indexed by tenant and time). Batches are sorted by key so that two replicas writing the
same rows take their locks in the same order (no deadlock).

Queries use `?` placeholders (the PostgreSQL store turns them into `%s`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.ledger.base import SettledEntry
from gateway.records.spend_history import (
    SPEND_COLUMNS,
    SpendGroup,
    SpendQuery,
    SpendRow,
    check_query,
    spend_row,
)

INSERT_SPEND = (f"INSERT INTO spend ({', '.join(SPEND_COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in SPEND_COLUMNS)}) "
                "ON CONFLICT (tenant, request_id) DO NOTHING")
INSERT_WINDOW = ("INSERT INTO spend_windows (tenant, request_id, period) VALUES (?, ?, ?) "
                 "ON CONFLICT (tenant, request_id, period) DO NOTHING")
DAILY_KEY = ("tenant", "period", "day", "model", "route", "language", "tier", "purpose")
DAILY_SUMS = ("requests", "prompt_tokens", "completion_tokens", "cost_nanos", "cache_hits")
UPSERT_DAILY = (
    f"INSERT INTO spend_daily ({', '.join(DAILY_KEY + DAILY_SUMS)}) VALUES "
    f"({', '.join('?' for _ in DAILY_KEY + DAILY_SUMS)}) "
    f"ON CONFLICT ({', '.join(DAILY_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = spend_daily.{c} + excluded.{c}" for c in DAILY_SUMS))
PG_ROWS_PER_INSERT = 1000
_SUMS = ("COUNT(*), COALESCE(SUM(s.prompt_tokens), 0), COALESCE(SUM(s.completion_tokens), 0), "
         "COALESCE(SUM(s.cost_nanos), 0)")
_DAILY_SUMS = ("COALESCE(SUM(d.requests), 0), COALESCE(SUM(d.prompt_tokens), 0), "
               "COALESCE(SUM(d.completion_tokens), 0), COALESCE(SUM(d.cost_nanos), 0)")
_WINDOWS = (" LEFT JOIN spend_windows w ON w.tenant = s.tenant "
            "AND w.request_id = s.request_id")
_RAW_COLUMN = {"tenant": "s.tenant", "period": "COALESCE(w.period, '-')", "model": "s.model",
               "route": "s.route", "language": "s.language", "tier": "s.tier",
               "purpose": "s.purpose"}


def unique_sorted(entries: Sequence[SettledEntry]) -> list[SettledEntry]:
    """One entry per (tenant, request id), in key order."""
    found = {(e.record.tenant, e.record.request_id): e for e in reversed(entries)}
    return [found[k] for k in sorted(found)]


def window_rows(entries: Sequence[SettledEntry]) -> list[tuple[str, str, str]]:
    return [(e.record.tenant, e.record.request_id, key) for e in entries for key in e.window_keys]


def daily_rows(entries: Sequence[SettledEntry]) -> list[tuple[Any, ...]]:
    """The deltas of `spend_daily` for newly stored entries, in key order."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for entry in entries:
        row = spend_row(entry)
        day = datetime.fromtimestamp(row[2], UTC).strftime("%Y-%m-%d")
        # A tenant without budgets has no windows: its requests show under period "-".
        for period in ("", *(entry.window_keys or ("-",))):
            # spend_row: tenant, id, at, model, route, tier, language, purpose, ...
            key = (row[0], period, day, row[3], row[4], row[6], row[5], row[7])
            acc = sums.setdefault(key, [0, 0, 0, 0, 0])
            acc[0] += 1
            acc[1] += row[9]
            acc[2] += row[10]
            acc[3] += row[8]
            acc[4] += 1 if row[11] else 0
    return [(*key, *values) for key, values in sorted(sums.items())]


def _day(at: float | None) -> str | None:
    """The UTC date of `at` when it is a UTC midnight (a bound the daily totals can serve)."""
    if at is None:
        return None
    moment = datetime.fromtimestamp(at, UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        raise _NotWholeDays
    return moment.strftime("%Y-%m-%d")


class _NotWholeDays(Exception):
    pass


def _filters(query: SpendQuery, alias: str) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.tenant is not None:
        clauses.append(f"{alias}.tenant = ?")
        params.append(query.tenant)
    for name, value in sorted(query.filters.items()):
        clauses.append(f"{alias}.{name} = ?")  # names are checked against FILTERS first
        params.append(value)
    return clauses, params


def _raw_where(query: SpendQuery) -> tuple[str, list[Any]]:
    clauses, params = _filters(query, "s")
    if query.since is not None:
        clauses.append("s.settled_at >= ?")
        params.append(query.since)
    if query.until is not None:
        clauses.append("s.settled_at < ?")
        params.append(query.until)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _daily_where(query: SpendQuery, periods: bool) -> tuple[str, list[Any]]:
    """WHERE over `spend_daily d`; raises _NotWholeDays when a bound splits a day."""
    since, until = _day(query.since), _day(query.until)
    clauses, params = _filters(query, "d")
    clauses.append("d.period <> ''" if periods else "d.period = ''")
    if since is not None:
        clauses.append("d.day >= ?")
        params.append(since)
    if until is not None:
        clauses.append("d.day < ?")
        params.append(until)
    return " WHERE " + " AND ".join(clauses), params


def _grouped(columns: list[str]) -> str:
    if not columns:
        return ""
    order = ", ".join(str(i + 1) for i in range(len(columns)))
    return f" GROUP BY {order} ORDER BY {order}"


class SqlSpendHistory:
    """SpendHistory on the `spend`, `spend_windows` and `spend_daily` tables (migration 0002)."""

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def _store_spend(self, entries: list[SettledEntry]) -> None:
        """Writes the sorted, unique batch in one transaction (see the module docstring)."""

    async def write_spend(self, entries: Sequence[SettledEntry]) -> None:
        if entries:
            await self._store_spend(unique_sorted(entries))

    async def spend_groups(self, query: SpendQuery) -> list[SpendGroup]:
        check_query(query)
        try:
            where, params = _daily_where(query, "period" in query.by)
            columns = [f"d.{d}" for d in query.by]
            sql = f"SELECT {', '.join([*columns, _DAILY_SUMS])} FROM spend_daily d{where}"
        except _NotWholeDays:
            where, params = _raw_where(query)
            columns = [_RAW_COLUMN[d] for d in query.by]
            join = _WINDOWS if "period" in query.by else ""
            sql = f"SELECT {', '.join([*columns, _SUMS])} FROM spend s{join}{where}"
        rows = await self._fetch(sql + _grouped(columns), params)
        n = len(columns)
        return [SpendGroup(tuple(str(v) for v in row[:n]), int(row[n]), int(row[n + 1]),
                           int(row[n + 2]), int(row[n + 3])) for row in rows if int(row[n])]

    async def spend_cache_hits(self, query: SpendQuery) -> int:
        check_query(query)
        try:
            where, params = _daily_where(query, periods=False)
            sql = f"SELECT COALESCE(SUM(d.cache_hits), 0) FROM spend_daily d{where}"
        except _NotWholeDays:
            where, params = _raw_where(query)
            sql = ("SELECT COALESCE(SUM(CASE WHEN s.cache_hit THEN 1 ELSE 0 END), 0) "
                   f"FROM spend s{where}")
        rows = await self._fetch(sql, params)
        return int(rows[0][0])

    async def spend_requests(self, query: SpendQuery, limit: int,
                             after: tuple[float, str] | None) -> list[SpendRow]:
        check_query(query)
        where, params = _raw_where(query)
        if after is not None:
            where += (" AND " if where else " WHERE ") + "(s.settled_at, s.request_id) > (?, ?)"
            params += [after[0], after[1]]
        columns = ", ".join(f"s.{c}" for c in SPEND_COLUMNS)
        rows = await self._fetch(
            f"SELECT {columns} FROM spend s{where} ORDER BY s.settled_at, s.request_id "
            "LIMIT ?", [*params, limit])
        return [SpendRow(str(r[0]), str(r[1]), float(r[2]), str(r[3]), str(r[4]), str(r[5]),
                         str(r[6]), str(r[7]), int(r[8]), int(r[9]), int(r[10]), bool(r[11]),
                         bool(r[12]), _extra(r[13])) for r in rows]


def _extra(raw: Any) -> dict[str, Any]:
    try:
        value = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def store_spend_sqlite(conn: Any, entries: list[SettledEntry]) -> None:
    """One IMMEDIATE transaction on a sqlite3 connection in autocommit mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        new = [e for e in entries if conn.execute(INSERT_SPEND, spend_row(e)).rowcount == 1]
        if new:
            conn.executemany(INSERT_WINDOW, window_rows(new))
            conn.executemany(UPSERT_DAILY, daily_rows(new))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


async def store_spend_postgres(conn: Any, entries: list[SettledEntry]) -> None:
    """Inside the caller's transaction: one multi-row INSERT ... RETURNING finds the new rows
    (a row another replica is inserting waits for its commit, then counts as not new)."""
    marks = "(" + ", ".join("%s" for _ in SPEND_COLUMNS) + ")"
    created: set[tuple[str, str]] = set()
    for start in range(0, len(entries), PG_ROWS_PER_INSERT):  # 65,535 parameters at most
        chunk = entries[start:start + PG_ROWS_PER_INSERT]
        sql = (INSERT_SPEND.replace("?", "%s").split(" VALUES ")[0] + " VALUES "
               + ", ".join(marks for _ in chunk)
               + " ON CONFLICT (tenant, request_id) DO NOTHING RETURNING tenant, request_id")
        cursor = await conn.execute(sql, [value for e in chunk for value in spend_row(e)])
        created |= {(str(t), str(r)) for t, r in await cursor.fetchall()}
    new = [e for e in entries if (e.record.tenant, e.record.request_id) in created]
    if new:
        async with conn.cursor() as cur:
            windows = window_rows(new)
            if windows:
                await cur.executemany(INSERT_WINDOW.replace("?", "%s"), windows)
            await cur.executemany(UPSERT_DAILY.replace("?", "%s"), daily_rows(new))
