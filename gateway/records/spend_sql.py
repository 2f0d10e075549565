"""The spend history's SQL, shared by the SQLite and PostgreSQL record stores.

Queries use `?` placeholders (the PostgreSQL store turns them into `%s`) and need only the
store's `_write(sql, rows)` and `_fetch(sql, params)`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

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
INSERT_WINDOW = ("INSERT INTO spend_windows (tenant, period, request_id) VALUES (?, ?, ?) "
                 "ON CONFLICT (tenant, period, request_id) DO NOTHING")
_COLUMN = {"tenant": "s.tenant", "period": "COALESCE(w.period, '-')", "model": "s.model",
           "route": "s.route", "language": "s.language", "tier": "s.tier",
           "purpose": "s.purpose"}
_SUMS = ("COUNT(*), COALESCE(SUM(s.prompt_tokens), 0), COALESCE(SUM(s.completion_tokens), 0), "
         "COALESCE(SUM(s.cost_nanos), 0)")
_WINDOWS = (" LEFT JOIN spend_windows w ON w.tenant = s.tenant "
            "AND w.request_id = s.request_id")


def _where(query: SpendQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.tenant is not None:
        clauses.append("s.tenant = ?")
        params.append(query.tenant)
    if query.since is not None:
        clauses.append("s.settled_at >= ?")
        params.append(query.since)
    if query.until is not None:
        clauses.append("s.settled_at < ?")
        params.append(query.until)
    for name, value in sorted(query.filters.items()):
        clauses.append(f"s.{name} = ?")  # names are checked against FILTERS first
        params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


class SqlSpendHistory:
    """SpendHistory on the `spend` and `spend_windows` tables (migration 0002)."""

    @abstractmethod
    async def _write(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None: ...

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def write_spend(self, entries: Sequence[SettledEntry]) -> None:
        if not entries:
            return
        windows = [(e.record.tenant, key, e.record.request_id)
                   for e in entries for key in e.window_keys]
        # Windows first: a spend row, once visible, already has its periods. Both inserts
        # ignore repeats, so a batch retried after a failure between them lands once.
        if windows:
            await self._write(INSERT_WINDOW, windows)
        await self._write(INSERT_SPEND, [spend_row(e) for e in entries])

    async def spend_groups(self, query: SpendQuery) -> list[SpendGroup]:
        check_query(query)
        where, params = _where(query)
        columns = [_COLUMN[d] for d in query.by]
        join = _WINDOWS if "period" in query.by else ""
        select = ", ".join([*columns, _SUMS])
        tail = ""
        if columns:
            order = ", ".join(str(i + 1) for i in range(len(columns)))
            tail = f" GROUP BY {order} ORDER BY {order}"
        rows = await self._fetch(f"SELECT {select} FROM spend s{join}{where}{tail}", params)
        n = len(columns)
        return [SpendGroup(tuple(str(v) for v in row[:n]), int(row[n]), int(row[n + 1]),
                           int(row[n + 2]), int(row[n + 3])) for row in rows if int(row[n])]

    async def spend_cache_hits(self, query: SpendQuery) -> int:
        check_query(query)
        where, params = _where(query)
        rows = await self._fetch(
            "SELECT COALESCE(SUM(CASE WHEN s.cache_hit THEN 1 ELSE 0 END), 0) "
            f"FROM spend s{where}", params)
        return int(rows[0][0])

    async def spend_requests(self, query: SpendQuery, limit: int,
                             after: tuple[float, str] | None) -> list[SpendRow]:
        check_query(query)
        where, params = _where(query)
        if after is not None:
            where += (" AND " if where else " WHERE ") + "(s.settled_at, s.request_id) > (?, ?)"
            params += [after[0], after[1]]
        columns = ", ".join(f"s.{c}" for c in SPEND_COLUMNS)
        rows = await self._fetch(
            f"SELECT {columns} FROM spend s{where} ORDER BY s.settled_at, s.request_id "
            "LIMIT ?", [*params, limit])
        return [SpendRow(str(r[0]), str(r[1]), float(r[2]), str(r[3]), str(r[4]), str(r[5]),
                         str(r[6]), str(r[7]), int(r[8]), int(r[9]), int(r[10]), bool(r[11]),
                         bool(r[12])) for r in rows]
