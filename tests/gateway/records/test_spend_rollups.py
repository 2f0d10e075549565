"""Hourly and daily spend totals on real SQLite and PostgreSQL: any time range sums to exactly
what its raw rows sum to, however its bounds fall, and a re-drained batch changes nothing."""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from gateway.ledger.base import SettledEntry, SpendRecord
from gateway.ledger.entries import unix_seconds
from gateway.records.postgres import PostgresRecordStore
from gateway.records.spend_history import NO_VALUE, SpendQuery
from gateway.records.spend_sql import HOUR_S, SqlSpendHistory, segments
from gateway.records.sqlite import SQLiteRecordStore
from tests.gateway.records.conftest import SQL_KINDS

KINDS = SQL_KINDS
START = unix_seconds("2026-11-02T00:00:00+00:00")
SPAN_S = 3 * 86_400
DIMS: list[tuple[str, ...]] = [(), ("model",), ("period", "model"), ("route", "language"),
                               ("purpose", "tier")]


def random_entries(rng: random.Random, n: int) -> list[SettledEntry]:
    """Entries at random (fractional) seconds over three days, some on exact hour and day
    boundaries, some of a tenant without budget windows."""
    out = []
    for i in range(n):
        at = START + rng.choice([rng.uniform(0, SPAN_S), rng.randrange(0, 72) * HOUR_S])
        windows = rng.choice([(), ("month:2026-11",), ("day:x", "month:2026-11")])
        record = SpendRecord(
            tenant=rng.choice(["acme", "acme", "beta"]), request_id=f"r{i}",
            model=rng.choice(["gpt-4o", "gpt-4o-mini"]), route=rng.choice(["auto", "cascade"]),
            cost_usd=0.0, prompt_tokens=rng.randrange(100), completion_tokens=rng.randrange(50),
            language=rng.choice(["en", "de", None]), cache_hit=rng.random() < 0.2,
            tier=rng.choice(["remote", "local"]),
            extra={"purpose": "learning"} if rng.random() < 0.2 else {})
        iso = datetime.fromtimestamp(at, UTC).isoformat()
        out.append(SettledEntry(record, iso, windows, rng.randrange(1, 10_000_000)))
    return out


def expected(entries: list[SettledEntry], query: SpendQuery) -> dict[tuple[str, ...], int]:
    sums: Counter[tuple[str, ...]] = Counter()
    for e in entries:
        at = unix_seconds(e.settled_at)
        if e.record.tenant != query.tenant:
            continue
        if (query.since is not None and at < query.since) or (
                query.until is not None and at >= query.until):
            continue
        values: dict[str, str] = {
            "model": e.record.model, "route": e.record.route, "tier": e.record.tier,
            "language": e.record.language or NO_VALUE,
            "purpose": str(e.record.extra.get("purpose", "traffic"))}
        for period in (e.window_keys or (NO_VALUE,)) if "period" in query.by else ("",):
            values["period"] = period
            sums[tuple(values[d] for d in query.by)] += e.actual_nanos
    return dict(sums)


def random_bound(rng: random.Random) -> float | None:
    kind = rng.randrange(5)
    if kind == 0:
        return None
    if kind == 1:
        return START + rng.randrange(-1, 4) * 86_400  # a UTC midnight
    if kind == 2:
        return START + rng.randrange(-2, 75) * HOUR_S  # a whole hour
    return START + rng.uniform(-3600, SPAN_S + 3600)


async def check_ranges(history: SqlSpendHistory, entries: list[SettledEntry],
                       rng: random.Random, rounds: int) -> None:
    for _ in range(rounds):
        since, until = random_bound(rng), random_bound(rng)
        for dims in DIMS:
            query = SpendQuery("acme", dims, since, until)
            groups = await history.spend_groups(query)
            assert {g.group: g.cost_nanos for g in groups} == expected(entries, query), (
                since, until, dims)
        totals = await history.spend_groups(SpendQuery("acme", (), since, until))
        total = totals[0] if totals else None
        hits = await history.spend_cache_hits(SpendQuery("acme", (), since, until))
        assert hits == sum(1 for e in entries if e.record.tenant == "acme" and e.record.cache_hit
                           and (since is None or unix_seconds(e.settled_at) >= since)
                           and (until is None or unix_seconds(e.settled_at) < until))
        if total is not None:
            assert total.prompt_tokens == sum(
                e.record.prompt_tokens for e in entries if e.record.tenant == "acme"
                and (since is None or unix_seconds(e.settled_at) >= since)
                and (until is None or unix_seconds(e.settled_at) < until))


async def test_random_ranges_sum_to_the_raw_rows(history: SqlSpendHistory) -> None:
    rng = random.Random(17)
    entries = random_entries(rng, 600)
    await history.write_spend(entries)
    await check_ranges(history, entries, rng, 40)


async def test_a_redrained_batch_changes_no_total(history: SqlSpendHistory) -> None:
    rng = random.Random(18)
    entries = random_entries(rng, 300)
    await history.write_spend(entries[:200])
    # A drainer that died before acknowledging sends its batch again, another overlaps it.
    await history.write_spend(entries[100:])
    await history.write_spend(entries)
    await check_ranges(history, entries, rng, 15)


@pytest.mark.parametrize("kind", KINDS)
async def test_the_migration_fills_the_hourly_totals_of_rows_drained_before_it(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    rng = random.Random(19)
    entries = random_entries(rng, 300)
    path = tmp_path / "records.sqlite3"
    url = request.getfixturevalue("pg_url") if kind == "postgres" else ""
    before = SQLiteRecordStore(path) if kind == "sqlite" else PostgresRecordStore(url)
    await before.write_spend(entries)
    await before.aclose()
    # Back to schema version 3: the rows and daily totals, no hourly totals.
    undo = ["DROP TABLE spend_hourly", "DELETE FROM schema_version WHERE version = 4"]
    if kind == "sqlite":
        with sqlite3.connect(path) as conn:
            for sql in undo:
                conn.execute(sql)
    else:
        with psycopg.connect(url, autocommit=True) as pg:
            for sql in undo:
                pg.execute(sql)
    after = SQLiteRecordStore(path) if kind == "sqlite" else PostgresRecordStore(url)
    try:
        await check_ranges(after, entries, rng, 15)
    finally:
        await after.aclose()


def test_segments_cover_the_range_once_and_read_at_most_two_hours_of_rows() -> None:
    rng = random.Random(20)
    for _ in range(2000):
        since, until = sorted(START + rng.uniform(-1e6, 1e6) for _ in range(2))
        if rng.random() < 0.3:
            since = START + rng.randrange(-300, 300) * HOUR_S
        pieces = []
        raw_s = 0.0
        for table, low, high in segments(since, until):
            assert low is not None and high is not None
            scale = {"raw": 1, "hourly": HOUR_S, "daily": 86_400}[table]
            pieces.append((low * scale, high * scale))
            if table == "raw":
                raw_s += high - low
        pieces.sort()
        assert pieces[0][0] == since and pieces[-1][1] == until
        assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
        assert raw_s < 2 * HOUR_S
    assert segments(None, None) == [("daily", None, None)]
