"""The spend history's SQL, shared by the SQLite and PostgreSQL record stores.

A batch is written in one transaction: the `spend` rows (a repeated tenant + request id is
skipped), their windows, and, for the rows that were new only, the deltas of the daily
totals in `spend_daily`. So a retried or duplicated batch changes nothing, and the totals
always equal the rows. Hourly totals in `spend_hourly` (migration 0004) are kept the same way.
A report splits its time range [since, until) into whole UTC days (read from `spend_daily`: a
few thousand rows for a month, however many requests), the whole hours at the edges of those
days (`spend_hourly`, 23 hours at most per edge) and the partial hours at its two ends (the
`spend` rows themselves, indexed by tenant and time: two hours of rows at most), one UNION ALL
query summed again by group. So no range reads more than two hours of raw rows. Batches are
sorted by key so that two replicas writing the same rows take their locks in the same order
(no deadlock). The retention settings purge the rows, and the hourly totals, past an age;
`spend_purged` (0006) says how far every purge went, and a report reads past that from the
next coarser table.

Queries use `?` placeholders (the PostgreSQL store turns them into `%s`).
"""

from __future__ import annotations

import logging
import math
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.ledger.base import SettledEntry
from gateway.ledger.entries import unix_seconds
from gateway.records.spend_history import (
    SPEND_COLUMNS,
    SpendGroup,
    SpendHorizons,
    SpendQuery,
    SpendRow,
    check_query,
    spend_row,
)

log = logging.getLogger("costroute.records")

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
HOURLY_KEY = ("tenant", "hour", "period", "model", "route", "language", "tier", "purpose")
UPSERT_HOURLY = (
    f"INSERT INTO spend_hourly ({', '.join(HOURLY_KEY + DAILY_SUMS)}) VALUES "
    f"({', '.join('?' for _ in HOURLY_KEY + DAILY_SUMS)}) "
    f"ON CONFLICT ({', '.join(HOURLY_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = spend_hourly.{c} + excluded.{c}" for c in DAILY_SUMS))
HOUR_S = 3600
HOURS_PER_DAY = 24
DAY_S = 86_400
SPEND_PURGE_BATCH = 1000  # rows per delete transaction: the drain's writes wait little
HOURLY_PURGE_HOURS = 7 * 24  # a week of a tenant's hourly totals per transaction
PG_ROWS_PER_INSERT = 1000
_SUMS = ("COUNT(*)", "COALESCE(SUM(s.prompt_tokens), 0)",
         "COALESCE(SUM(s.completion_tokens), 0)", "COALESCE(SUM(s.cost_nanos), 0)")
_ROLLUP_SUMS = tuple(f"COALESCE(SUM({{a}}.{c}), 0)" for c in DAILY_SUMS[:4])
_CACHE_HITS = ("COALESCE(SUM(CASE WHEN s.cache_hit THEN 1 ELSE 0 END), 0)",)
_ROLLUP_CACHE_HITS = ("COALESCE(SUM({a}.cache_hits), 0)",)
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


def rollup_rows(entries: Sequence[SettledEntry],
                rows: Sequence[tuple[Any, ...]] | None = None,
                ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The deltas of `spend_daily` and `spend_hourly` for newly stored entries, in key order.

    `rows`, when given, are the entries' `spend_row`s (the caller inserted them already)."""
    daily: dict[tuple[Any, ...], list[int]] = {}
    hourly: dict[tuple[Any, ...], list[int]] = {}
    days: dict[int, str] = {}  # a batch spans a day or two: format each once
    for entry, row in zip(entries, rows if rows is not None else map(spend_row, entries),
                          strict=True):
        # floor(), as the raw rows are compared to an hour's first second: a row is in exactly
        # one hour and one day whichever table a range reads it from.
        hour = int(row[2] // HOUR_S)
        day = days.get(hour // HOURS_PER_DAY)
        if day is None:
            day = days[hour // HOURS_PER_DAY] = _day_name(hour // HOURS_PER_DAY)
        # A tenant without budgets has no windows: its requests show under period "-".
        for period in ("", *(entry.window_keys or ("-",))):
            # spend_row: tenant, id, at, model, route, tier, language, purpose, ...
            group = (row[3], row[4], row[6], row[5], row[7])
            for acc in (daily.setdefault((row[0], period, day, *group), [0, 0, 0, 0, 0]),
                        hourly.setdefault((row[0], hour, period, *group), [0, 0, 0, 0, 0])):
                acc[0] += 1
                acc[1] += row[9]
                acc[2] += row[10]
                acc[3] += row[8]
                acc[4] += 1 if row[11] else 0
    return ([(*key, *values) for key, values in sorted(daily.items())],
            [(*key, *values) for key, values in sorted(hourly.items())])


def _day_name(day: int) -> str:
    """`day` (days since the epoch) as spend_daily's YYYY-MM-DD."""
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


def _horizon(configured: float | None, purged: Mapping[tuple[str, str], float], level: str,
             tenant: str | None) -> float | None:
    """The later of the retention's horizon and the furthest purge recorded for `tenant`'s
    rows (None: any tenant's) at `level`."""
    found = [before for (who, at_level), before in purged.items()
             if at_level == level and (tenant is None or who in ("", tenant))]
    if configured is not None:
        found.append(configured)
    return max(found, default=None)


Segment = tuple[str, float | int | None, float | int | None]  # table, from, to (exclusive)


def segments(since: float | None, until: float | None, raw_since: float | None = None,
             hourly_since: float | None = None) -> list[Segment]:
    """[since, until) as pieces that each read the coarsest table that can serve them:
    ("raw", s, e) seconds of `spend` rows, ("hourly", h0, h1) hours, ("daily", d0, d1) days
    since the epoch. None is an open end. Whole days go to spend_daily; whole hours beside
    them to spend_hourly; only the partial hours at the two ends are read row by row.

    Rows from before `raw_since` may have been purged (`spend_retention_days`): a partial
    hour that starts before it is read whole from spend_hourly instead. Hourly totals from
    before `hourly_since` may have been purged too (`spend_hourly_retention_days`): the hours
    of a day that starts before it are read as that whole day from spend_daily. So an old
    range's edges count by the hour, or by the day, rather than lose what is gone."""
    pieces = _segments(since, until)
    if raw_since is not None:
        pieces = [_whole_hours(piece) if piece[0] == "raw" and _purged(piece, raw_since)
                  else piece for piece in pieces]
    if hourly_since is None:
        return pieces
    return _whole_days(pieces, _ceil_div(hourly_since, DAY_S) * HOURS_PER_DAY)


def _whole_days(pieces: list[Segment], first_hour: int) -> list[Segment]:
    """`pieces` with the hours before `first_hour` (a day's first) read as their whole days;
    a raw or hourly piece inside one of those days is then part of it, not read again."""
    days: list[tuple[int | None, int | None]] = []
    rest: list[Segment] = []
    for table, low, high in pieces:
        if table == "daily":
            days.append((None if low is None else int(low), None if high is None else int(high)))
        elif table == "hourly" and low is not None and high is not None and low < first_hour:
            days.append((int(low) // HOURS_PER_DAY,
                         _ceil_div(min(high, first_hour), HOURS_PER_DAY)))
            if high > first_hour:
                rest.append(("hourly", first_hour, high))
        else:
            rest.append((table, low, high))
    merged = _union(days)

    def inside(piece: Segment) -> bool:
        table, low, _ = piece
        assert low is not None  # raw and hourly pieces are bounded
        day = int(low // DAY_S) if table == "raw" else int(low) // HOURS_PER_DAY
        return any((a is None or a <= day) and (b is None or day < b) for a, b in merged)

    return [p for p in rest if not inside(p)] + [("daily", a, b) for a, b in merged]


def _union(spans: list[tuple[int | None, int | None]]) -> list[tuple[int | None, int | None]]:
    """Overlapping or touching [a, b) spans merged; None is an open end."""
    out: list[tuple[int | None, int | None]] = []
    for low, high in sorted(spans, key=lambda s: -math.inf if s[0] is None else s[0]):
        if out:
            last_low, last_high = out[-1]
            if last_high is None or (low is not None and low <= last_high):
                end = None if last_high is None or high is None else max(last_high, high)
                out[-1] = (last_low, end)
                continue
        out.append((low, high))
    return out


def _purged(piece: Segment, raw_since: float) -> bool:
    _, start, end = piece
    assert start is not None and end is not None  # raw pieces are bounded
    return start < end and start < raw_since  # an empty range reads nothing either way


def _whole_hours(piece: Segment) -> Segment:
    """The hours a raw piece touches, as an hourly piece."""
    _, start, end = piece
    assert start is not None and end is not None  # raw pieces are bounded
    return ("hourly", int(start // HOUR_S), _ceil_div(end, HOUR_S))


def _segments(since: float | None, until: float | None) -> list[Segment]:
    if since is not None and until is not None and since >= until:
        return [("raw", since, until)]  # empty
    first_hour = None if since is None else _ceil_div(since, HOUR_S)
    end_hour = None if until is None else int(until // HOUR_S)
    if first_hour is not None and end_hour is not None and first_hour >= end_hour:
        return [("raw", since, until)]  # no whole hour inside
    out: list[Segment] = []
    if since is not None and first_hour is not None and since < first_hour * HOUR_S:
        out.append(("raw", since, first_hour * HOUR_S))
    if until is not None and end_hour is not None and end_hour * HOUR_S < until:
        out.append(("raw", end_hour * HOUR_S, until))
    first_day = None if first_hour is None else _ceil_div(first_hour, HOURS_PER_DAY)
    end_day = None if end_hour is None else end_hour // HOURS_PER_DAY
    if first_day is not None and end_day is not None and first_day >= end_day:
        out.append(("hourly", first_hour, end_hour))  # no whole day inside
        return out
    if first_hour is not None and first_day is not None and first_hour < first_day * HOURS_PER_DAY:
        out.append(("hourly", first_hour, first_day * HOURS_PER_DAY))
    if end_hour is not None and end_day is not None and end_day * HOURS_PER_DAY < end_hour:
        out.append(("hourly", end_day * HOURS_PER_DAY, end_hour))
    out.append(("daily", first_day, end_day))
    return out


def _ceil_div(value: float, unit: int) -> int:
    whole = int(value // unit)
    return whole + 1 if whole * unit < value else whole


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


def _raw_where(query: SpendQuery, since: float | None,
               until: float | None) -> tuple[str, list[Any]]:
    clauses, params = _filters(query, "s")
    if since is not None:
        clauses.append("s.settled_at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("s.settled_at < ?")
        params.append(until)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _rollup_where(query: SpendQuery, alias: str, column: str, low: Any, high: Any,
                  periods: bool) -> tuple[str, list[Any]]:
    """WHERE over spend_daily or spend_hourly: `column` in [low, high)."""
    clauses, params = _filters(query, alias)
    clauses.append(f"{alias}.period <> ''" if periods else f"{alias}.period = ''")
    if low is not None:
        clauses.append(f"{alias}.{column} >= ?")
        params.append(low)
    if high is not None:
        clauses.append(f"{alias}.{column} < ?")
        params.append(high)
    return " WHERE " + " AND ".join(clauses), params


def _segment_sql(query: SpendQuery, segment: Segment, by: Sequence[str],
                 sums: Sequence[str], rollup_sums: Sequence[str]) -> tuple[str, list[Any]]:
    """One segment's SELECT of the group columns then the sums, as c0, c1, ..., ungrouped."""
    table, low, high = segment
    if table == "raw":
        where, params = _raw_where(query, low, high)
        exprs = [*(_RAW_COLUMN[d] for d in by), *sums]
        source = "spend s" + (_WINDOWS if "period" in by else "")
    else:
        alias, source, column = (("d", "spend_daily d", "day") if table == "daily"
                                 else ("h", "spend_hourly h", "hour"))
        # spend_daily's days are YYYY-MM-DD names; spend_hourly's hours are numbers.
        bounds: list[Any] = [b if b is None or table == "hourly" else _day_name(int(b))
                             for b in (low, high)]
        where, params = _rollup_where(query, alias, column, bounds[0], bounds[1],
                                      "period" in by)
        exprs = [*(f"{alias}.{d}" for d in by), *(e.format(a=alias) for e in rollup_sums)]
    columns = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    return f"SELECT {columns} FROM {source}{where}", params


def _plan(query: SpendQuery, sums: Sequence[str], rollup_sums: Sequence[str],
          horizons: SpendHorizons) -> tuple[str, list[Any]]:
    """The query over every segment of the range: one SELECT, or several summed again."""
    by = query.by
    parts = [_segment_sql(query, seg, by, sums, rollup_sums)
             for seg in segments(query.since, query.until, horizons.raw, horizons.hourly)]
    params = [p for _, part in parts for p in part]
    if len(parts) == 1:
        return parts[0][0] + _grouped(len(by)), params
    inner = " UNION ALL ".join(sql + _grouped(len(by), order=False) for sql, _ in parts)
    outer = [*(f"u.c{i}" for i in range(len(by))),
             *(f"COALESCE(SUM(u.c{len(by) + i}), 0)" for i in range(len(sums)))]
    return f"SELECT {', '.join(outer)} FROM ({inner}) u" + _grouped(len(by)), params


def _grouped(n: int, order: bool = True) -> str:
    if not n:
        return ""
    columns = ", ".join(str(i + 1) for i in range(n))
    return f" GROUP BY {columns}" + (f" ORDER BY {columns}" if order else "")


class SqlSpendHistory:
    """SpendHistory on `spend`, `spend_windows`, `spend_daily` (0002), `spend_hourly` (0004)
    and `spend_purged` (0006)."""

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def _write(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None: ...

    # Per-request rows older than this are purged (records.spend_retention_days), and hourly
    # totals older than the second (spend_hourly_retention_days); the daily totals are kept
    # whatever their age. None keeps that level whole.
    spend_retention_s: float | None = None
    spend_hourly_retention_s: float | None = None
    spend_clock: Callable[[], float] = staticmethod(time.time)
    spend_skipped_past_retention = 0  # entries too old to write (see write_spend)

    def _keep_spend(self, retention_days: float | None,
                    hourly_retention_days: float | None) -> None:
        """The stores' `spend_retention_days` and `spend_hourly_retention_days` settings."""
        if retention_days is not None:
            self.spend_retention_s = retention_days * DAY_S
        if hourly_retention_days is not None:
            self.spend_hourly_retention_s = hourly_retention_days * DAY_S

    @abstractmethod
    async def _store_spend(self, entries: list[SettledEntry]) -> None:
        """Writes the sorted, unique batch in one transaction (see the module docstring)."""

    @abstractmethod
    async def _delete(self, statements: Sequence[tuple[str, Sequence[Any]]],
                      dry_run: bool = False) -> list[int]:
        """Runs the DELETEs in one transaction; how many rows each deleted."""

    def raw_spend_since(self) -> float | None:
        """From when per-request rows are kept; None when none are purged."""
        if self.spend_retention_s is None:
            return None
        return self.spend_clock() - self.spend_retention_s

    def hourly_spend_since(self) -> float | None:
        """From when hourly totals are kept; None when none are purged. A purge deletes
        whole days only, so it keeps the day this falls in."""
        if self.spend_hourly_retention_s is None:
            return None
        return self.spend_clock() - self.spend_hourly_retention_s

    async def _purges(self) -> dict[tuple[str, str], float]:
        """(tenant, level) -> how far that level was purged ('' : for every tenant)."""
        rows = await self._fetch("SELECT tenant, level, purged_before FROM spend_purged")
        return {(str(t), str(level)): float(before) for t, level, before in rows}

    async def spend_horizons(self, tenant: str | None) -> SpendHorizons:
        """What a report on `tenant` (None: every tenant) may read of each level: the
        retention's horizons, or further where a purge (any replica's, or one by hand with
        a shorter age) went further."""
        purged = await self._purges()
        return SpendHorizons(_horizon(self.raw_spend_since(), purged, "raw", tenant),
                             _horizon(self.hourly_spend_since(), purged, "hourly", tenant))

    async def write_spend(self, entries: Sequence[SettledEntry]) -> None:
        purged = await self._purges() if entries else {}
        horizons = {tenant: _horizon(self.raw_spend_since(), purged, "raw", tenant)
                    for tenant in {e.record.tenant for e in entries}}
        # The request id of a row is what makes a repeated write a no-op. Past a purge that
        # row may be gone, so an entry that old (a drain replayed from the start of an old
        # journal) would count twice in the totals: it is skipped.
        kept = [e for e in entries if (horizon := horizons[e.record.tenant]) is None
                or unix_seconds(e.settled_at) >= horizon]
        if len(kept) < len(entries):
            skipped = len(entries) - len(kept)
            self.spend_skipped_past_retention += skipped
            oldest = min(h for h in horizons.values() if h is not None)
            log.warning("spend history: skipped %d settled entries from before the spend "
                        "history's purge horizon, %s (their rows may be purged already)",
                        skipped, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(oldest)))
        if kept:
            await self._store_spend(unique_sorted(kept))

    async def _record_purge(self, level: str, tenant: str | None, before: float) -> None:
        """Notes the purge before it deletes anything: a report that starts meanwhile reads
        that range from the coarser table already (which holds all of it either way)."""
        await self._write(
            "INSERT INTO spend_purged (tenant, level, purged_before) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant, level) DO UPDATE SET purged_before = CASE "
            "WHEN excluded.purged_before > spend_purged.purged_before "
            "THEN excluded.purged_before ELSE spend_purged.purged_before END",
            [(tenant or "", level, before)])

    async def _tenants_before(self, before: float, tenant: str | None) -> list[str]:
        if tenant is not None:
            return [tenant]
        # Every row has its daily total: the small table names every tenant.
        rows = await self._fetch("SELECT DISTINCT tenant FROM spend_daily WHERE day <= ?",
                                 [_day_name(int(before // DAY_S))])
        return sorted(str(row[0]) for row in rows)

    async def purge_spend(self, before: float, tenant: str | None = None, *,
                          dry_run: bool = False) -> int:
        """Deletes the per-request rows (and their window rows) settled before `before`, in
        pages; the daily and hourly totals stay, so reports keep answering. How many rows."""
        if dry_run:
            where = "settled_at < ?" + (" AND tenant = ?" if tenant is not None else "")
            found = await self._fetch(f"SELECT COUNT(*) FROM spend WHERE {where}",
                                      [before] if tenant is None else [before, tenant])
            return int(found[0][0])
        await self._record_purge("raw", tenant, before)
        page = ("SELECT request_id FROM spend WHERE tenant = ? AND settled_at < ? "
                f"ORDER BY settled_at, request_id LIMIT {SPEND_PURGE_BATCH}")
        purged = 0
        for name in await self._tenants_before(before, tenant):
            while True:
                counted = await self._delete([
                    (f"DELETE FROM spend_windows WHERE tenant = ? AND request_id IN ({page})",
                     [name, name, before]),
                    (f"DELETE FROM spend WHERE tenant = ? AND request_id IN ({page})",
                     [name, name, before])])
                purged += counted[1]
                if counted[1] < SPEND_PURGE_BATCH:
                    break
        return purged

    async def purge_spend_hourly(self, before: float, tenant: str | None = None, *,
                                 dry_run: bool = False) -> int:
        """Deletes the hourly totals of the whole UTC days before `before`'s, a week of
        hours per transaction; the daily totals stay, so reports keep answering (by whole
        days past it). How many rows."""
        end_hour = int(before // DAY_S) * HOURS_PER_DAY
        if dry_run:
            where = "hour < ?" + (" AND tenant = ?" if tenant is not None else "")
            found = await self._fetch(f"SELECT COUNT(*) FROM spend_hourly WHERE {where}",
                                      [end_hour] if tenant is None else [end_hour, tenant])
            return int(found[0][0])
        await self._record_purge("hourly", tenant, end_hour * HOUR_S)
        purged = 0
        for name in await self._tenants_before(before, tenant):
            found = await self._fetch(
                "SELECT MIN(hour) FROM spend_hourly WHERE tenant = ? AND hour < ?",
                [name, end_hour])
            if found[0][0] is None:
                continue
            for low in range(int(found[0][0]), end_hour, HOURLY_PURGE_HOURS):
                counted = await self._delete([(
                    "DELETE FROM spend_hourly WHERE tenant = ? AND hour >= ? AND hour < ?",
                    [name, low, min(low + HOURLY_PURGE_HOURS, end_hour)])])
                purged += counted[0]
        return purged

    async def spend_groups(self, query: SpendQuery) -> list[SpendGroup]:
        check_query(query)
        sql, params = _plan(query, _SUMS, _ROLLUP_SUMS, await self.spend_horizons(query.tenant))
        rows = await self._fetch(sql, params)
        n = len(query.by)
        return [SpendGroup(tuple(str(v) for v in row[:n]), int(row[n]), int(row[n + 1]),
                           int(row[n + 2]), int(row[n + 3])) for row in rows if int(row[n])]

    async def spend_cache_hits(self, query: SpendQuery) -> int:
        check_query(query)
        sql, params = _plan(replace(query, by=()), _CACHE_HITS, _ROLLUP_CACHE_HITS,
                            await self.spend_horizons(query.tenant))
        rows = await self._fetch(sql, params)
        return int(rows[0][0])

    async def spend_requests(self, query: SpendQuery, limit: int,
                             after: tuple[float, str] | None) -> list[SpendRow]:
        check_query(query)
        where, params = _raw_where(query, query.since, query.until)
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
        rows = [spend_row(e) for e in entries]
        new = [(e, row) for e, row in zip(entries, rows, strict=True)
               if conn.execute(INSERT_SPEND, row).rowcount == 1]
        if new:
            conn.executemany(INSERT_WINDOW, window_rows([e for e, _ in new]))
            daily, hourly = rollup_rows([e for e, _ in new], [row for _, row in new])
            conn.executemany(UPSERT_DAILY, daily)
            conn.executemany(UPSERT_HOURLY, hourly)
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
            daily, hourly = rollup_rows(new)
            await cur.executemany(UPSERT_DAILY.replace("?", "%s"), daily)
            await cur.executemany(UPSERT_HOURLY.replace("?", "%s"), hourly)
