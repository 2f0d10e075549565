"""Spend retention on real SQLite and PostgreSQL: per-request rows older than
`records.spend_retention_days` are deleted, the daily and hourly totals stay, reports keep
answering (by whole hours where their edges fall past the retention), and a re-drained old
entry does not count twice."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from gateway.config import RecordsConfig
from gateway.ledger.base import SettledEntry
from gateway.ledger.entries import unix_seconds
from gateway.records.cli import app
from gateway.records.factory import open_record_store
from gateway.records.retention import SpendRetentionSweeper
from gateway.records.spend_history import SpendQuery
from gateway.records.spend_sql import DAY_S, HOUR_S, SqlSpendHistory, segments
from gateway.records.sqlite import SQLiteRecordStore
from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.records.test_learn_status_cli import _config
from tests.gateway.records.test_spend_rollups import DIMS, START, random_bound, random_entries
from tests.gateway.test_spend import get_spend

# Rows settled in the first day and a half of the entries' three days are past the retention.
HORIZON = START + 1.5 * DAY_S + 1234.5


def retain_from(history: SqlSpendHistory, horizon: float, days: float = 30.0) -> None:
    """Makes `history` keep rows from `horizon` on: `days` of retention on a clock that says
    `horizon` + `days`."""
    history.spend_retention_s = days * DAY_S
    history.spend_clock = lambda: horizon + days * DAY_S


def in_pieces(entries: list[SettledEntry], query: SpendQuery, horizon: float | None,
              hourly: float | None = None) -> dict[tuple[str, ...], int]:
    """What a report should sum: the entries inside the pieces the planner reads (whole hours
    where a range's edge falls before the horizon, whole days before the `hourly` one),
    grouped as `query` says."""
    scale = {"raw": 1, "hourly": HOUR_S, "daily": DAY_S}
    spans = [(low * scale[t] if low is not None else None,
              high * scale[t] if high is not None else None)
             for t, low, high in segments(query.since, query.until, horizon, hourly)]
    sums: Counter[tuple[str, ...]] = Counter()
    for e in entries:
        at = unix_seconds(e.settled_at)
        if e.record.tenant != query.tenant or not any(
                (lo is None or at >= lo) and (hi is None or at < hi) for lo, hi in spans):
            continue
        values = {"model": e.record.model, "route": e.record.route, "tier": e.record.tier,
                  "language": e.record.language or "-",
                  "purpose": str(e.record.extra.get("purpose", "traffic"))}
        for period in (e.window_keys or ("-",)) if "period" in query.by else ("",):
            values["period"] = period
            sums[tuple(values[d] for d in query.by)] += e.actual_nanos
    return dict(sums)


def test_past_the_horizon_a_range_reads_whole_hours_and_no_purged_rows() -> None:
    rng = random.Random(31)
    for _ in range(2000):
        since, until = sorted(START + rng.uniform(-3 * DAY_S, 3 * DAY_S) for _ in range(2))
        horizon = START + rng.uniform(-3 * DAY_S, 3 * DAY_S)
        pieces = []
        for table, low, high in segments(since, until, horizon):
            assert low is not None and high is not None
            if table == "raw":
                assert low >= horizon, "a raw piece would read rows that may be purged"
            scale = {"raw": 1, "hourly": HOUR_S, "daily": DAY_S}[table]
            pieces.append((low * scale, high * scale))
        pieces.sort()
        assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces)), "no gap, no overlap"
        assert pieces[0][0] <= since and since - pieces[0][0] < HOUR_S
        assert pieces[-1][1] >= until and pieces[-1][1] - until < HOUR_S
    assert segments(START + 10, START + 20, START + 5) == [("raw", START + 10, START + 20)]
    assert segments(START + 10, START + 20, START + 15) == [
        ("hourly", int(START // HOUR_S), int(START // HOUR_S) + 1)]


async def test_a_purge_deletes_old_rows_and_keeps_every_total(history: SqlSpendHistory) -> None:
    rng = random.Random(32)
    entries = random_entries(rng, 500)
    await history.write_spend(entries)
    old = [e for e in entries if unix_seconds(e.settled_at) < HORIZON]
    assert 0 < len(old) < len(entries)
    assert await history.purge_spend(HORIZON, dry_run=True) == len(old)
    assert await history.purge_spend(HORIZON, "beta", dry_run=True) == sum(
        1 for e in old if e.record.tenant == "beta")
    assert await history.purge_spend(HORIZON) == len(old)
    assert await history.purge_spend(HORIZON) == 0, "idempotent"
    listed = await history.spend_requests(SpendQuery("acme"), 1000, None)
    assert {r.request_id for r in listed} == {
        e.record.request_id for e in entries
        if e.record.tenant == "acme" and unix_seconds(e.settled_at) >= HORIZON}
    retain_from(history, HORIZON)
    everything = await history.spend_groups(SpendQuery("acme", ("model",)))
    assert {g.group: g.cost_nanos for g in everything} == in_pieces(
        entries, SpendQuery("acme", ("model",)), HORIZON), "the totals lost nothing"
    for _ in range(25):
        since, until = random_bound(rng), random_bound(rng)
        for dims in DIMS:
            query = SpendQuery("acme", dims, since, until)
            groups = await history.spend_groups(query)
            assert {g.group: g.cost_nanos for g in groups} == in_pieces(
                entries, query, HORIZON), (since, until, dims)


async def test_an_entry_past_the_retention_is_not_written_twice(
        history: SqlSpendHistory) -> None:
    rng = random.Random(33)
    entries = random_entries(rng, 300)
    await history.write_spend(entries)
    await history.purge_spend(HORIZON)
    retain_from(history, HORIZON)
    before = await history.spend_groups(SpendQuery("acme", ("model",)))
    await history.write_spend(entries)  # a drain replayed from an old checkpoint
    after = await history.spend_groups(SpendQuery("acme", ("model",)))
    assert after == before
    assert history.spend_skipped_past_retention == sum(
        1 for e in entries if unix_seconds(e.settled_at) < HORIZON)


def filled(db: Path, entries: list[SettledEntry]) -> None:
    """A SQLite records file at `db` holding `entries`' spend."""
    async def fill() -> None:
        store = SQLiteRecordStore(db)
        await store.write_spend(entries)
        await store.aclose()

    asyncio.run(fill())


async def swept(store: SQLiteRecordStore, entries: list[SettledEntry], now: float,
                done: Callable[[SpendRetentionSweeper], object]) -> SpendRetentionSweeper:
    """Writes `entries` as they settle (nothing is past a retention then), sets the clock to
    `now` and runs a sweeper every 0.05 s until `done` says it has purged."""
    store.spend_clock = lambda: START
    await store.write_spend(entries)
    store.spend_clock = lambda: now
    sweeper = SpendRetentionSweeper(store, interval_s=0.05)
    sweeper.start()
    for _ in range(100):
        if done(sweeper):
            break
        await asyncio.sleep(0.05)
    await sweeper.aclose()
    return sweeper


async def test_the_sweeper_purges_up_to_the_horizon(tmp_path: Path) -> None:
    store = SQLiteRecordStore(tmp_path / "records.sqlite3", spend_retention_days=2)
    entries = random_entries(random.Random(34), 200)
    try:
        sweeper = await swept(store, entries, HORIZON + 2 * DAY_S, lambda s: s.purged)
        assert sweeper.purged == sum(1 for e in entries if unix_seconds(e.settled_at) < HORIZON)
        assert sweeper.last_error is None
        kept = await store.spend_requests(SpendQuery(None), 1000, None)
        assert min(r.settled_at for r in kept) >= HORIZON
    finally:
        await store.aclose()


def test_the_setting_reaches_the_store_and_needs_a_database(tmp_path: Path) -> None:
    settings = RecordsConfig(kind="sqlite", path=str(tmp_path / "r.sqlite3"),
                             spend_retention_days=400)
    store = open_record_store(settings)
    assert isinstance(store, SqlSpendHistory) and store.spend_retention_s == 400 * DAY_S
    for kind in ("memory", "none"):
        with pytest.raises(ValidationError, match="spend_retention_days"):
            RecordsConfig(kind=kind, spend_retention_days=30)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        RecordsConfig(spend_retention_days=0.5)  # under a day


def test_learn_purge_spend_deletes_rows_and_a_dry_run_only_counts(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    entries = random_entries(random.Random(35), 120)  # settled in November 2026

    filled(db, entries)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    base = ["purge", "--spend", "--config", str(config)]
    result = CliRunner().invoke(app, base)
    assert result.exit_code == 2 and "spend_retention_days" in result.output
    # Ages from now: 1 day ago is after every entry (deletes all); 3000 weeks ago, none.
    dry = CliRunner().invoke(app, [*base, "--older-than", "1d", "--tenant", "beta",
                                   "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    betas = sum(1 for e in entries if e.record.tenant == "beta")
    assert json.loads(dry.output) | {"before": 0} == {
        "tenant": "beta", "before": 0, "dry_run": True, "spend_rows": betas}
    done = CliRunner().invoke(app, [*base, "--older-than", "1d", "--tenant", "beta"])
    assert done.exit_code == 0 and "rows from before" in done.output, done.output
    assert f": {betas} (daily and hourly totals kept)" in done.output
    keeps = _config(tmp_path, {"kind": "sqlite", "path": str(db), "spend_retention_days": 1})
    rest = CliRunner().invoke(app, ["purge", "--spend", "--config", str(keeps), "--json"])
    assert json.loads(rest.output)["spend_rows"] == len(entries) - betas

    async def totals() -> int:
        store = SQLiteRecordStore(db)
        groups = await store.spend_groups(SpendQuery("acme"))
        await store.aclose()
        return groups[0].cost_nanos

    assert asyncio.run(totals()) == sum(e.actual_nanos for e in entries
                                        if e.record.tenant == "acme")


def test_a_gateway_with_spend_retention_purges_old_rows(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    entries = random_entries(random.Random(36), 100)  # settled in November 2026: > 1 day ago

    async def rows_and_total() -> tuple[int, int]:
        store = SQLiteRecordStore(db)
        try:
            rows = await store.spend_requests(SpendQuery(None), 1000, None)
            groups = await store.spend_groups(SpendQuery("acme"))
            return len(rows), groups[0].cost_nanos
        finally:
            await store.aclose()

    filled(db, entries)
    total = sum(e.actual_nanos for e in entries if e.record.tenant == "acme")
    assert asyncio.run(rows_and_total()) == (len(entries), total)
    records = {"kind": "sqlite", "path": str(db), "spend_retention_days": 1,
               "purge_interval_s": 0.1}
    gw = gateway_factory(sim_config(sim, records=records))
    deadline = time.monotonic() + 30
    while asyncio.run(rows_and_total())[0]:
        assert time.monotonic() < deadline, "the old spend rows were never purged"
        time.sleep(0.1)
    assert asyncio.run(rows_and_total()) == (0, total), "the daily totals stay"
    # The listing says from when it can show requests: a day ago, the retention's horizon.
    page = get_spend(gw, list="requests").json()
    assert abs(page["requests_from"] - (time.time() - DAY_S)) < 60, page
