"""Hourly spend totals past `records.spend_hourly_retention_days` are deleted by whole UTC days,
and every purge is recorded in the database, so reports read past it from the next coarser
table whoever purged: the sweeper, or `costroute learn purge` by hand with a shorter age than
the settings say. Real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from gateway.config import RecordsConfig
from gateway.ledger.base import SettledEntry
from gateway.ledger.entries import unix_seconds
from gateway.records.cli import app
from gateway.records.factory import open_record_store
from gateway.records.spend_history import SpendQuery
from gateway.records.spend_sql import DAY_S, HOUR_S, SqlSpendHistory, segments
from gateway.records.sqlite import SQLiteRecordStore
from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.records.test_learn_status_cli import _config
from tests.gateway.records.test_spend_retention import filled, in_pieces, swept
from tests.gateway.records.test_spend_rollups import DIMS, START, random_bound, random_entries

RAW_HORIZON = START + 1.5 * DAY_S + 1234.5  # inside the entries' second day
HOURLY_HORIZON = START + 1.2 * DAY_S  # the hours of the first day may go; the second's stay
SCALE = {"raw": 1, "hourly": HOUR_S, "daily": DAY_S}


def spans(since: float | None, until: float | None, raw: float | None,
          hourly: float | None) -> list[tuple[float | None, float | None]]:
    return [(None if low is None else low * SCALE[t], None if high is None else high * SCALE[t])
            for t, low, high in segments(since, until, raw, hourly)]


async def check_reports(history: SqlSpendHistory, entries: list[SettledEntry],
                        rng: random.Random, tenant: str, raw: float | None,
                        hourly: float | None, rounds: int = 25) -> None:
    for _ in range(rounds):
        since, until = random_bound(rng), random_bound(rng)
        for dims in DIMS:
            query = SpendQuery(tenant, dims, since, until)
            groups = await history.spend_groups(query)
            assert {g.group: g.cost_nanos for g in groups} == in_pieces(
                entries, query, raw, hourly), (tenant, since, until, dims)


def test_past_the_hourly_horizon_a_range_reads_whole_days_once() -> None:
    rng = random.Random(41)

    def bound() -> float | None:
        return None if rng.random() < 0.1 else START + rng.uniform(-4 * DAY_S, 4 * DAY_S)

    for _ in range(4000):
        since, until = bound(), bound()
        if since is not None and until is not None and since > until:
            since, until = until, since
        hourly = START + rng.uniform(-4 * DAY_S, 4 * DAY_S)
        raw = rng.choice([None, hourly + rng.uniform(0, 2 * DAY_S)])
        first_whole_hour = -(-hourly // DAY_S) * DAY_S  # the first day with all its hours
        pieces = sorted(spans(since, until, raw, hourly),
                        key=lambda p: float("-inf") if p[0] is None else p[0])
        for table, low, _ in segments(since, until, raw, hourly):
            if table == "raw":
                assert raw is None or low is None or low >= raw
            if table == "hourly":
                assert low is not None and low * HOUR_S >= first_whole_hour, (
                    "reads the hourly totals of a day whose hours may be purged")
        if since is not None and until is not None and since >= until:
            continue  # an empty range reads nothing, as one empty piece
        assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces)), "no gap, no overlap"
        start, end = pieces[0][0], pieces[-1][1]
        if since is None:
            assert start is None
        else:
            assert start is not None and start <= since
            assert since - start < (HOUR_S if since >= first_whole_hour else DAY_S)
        if until is None:
            assert end is None
        else:
            assert end is not None and end >= until
            assert end - until < (HOUR_S if until > first_whole_hour else DAY_S)
    # A range inside one old day: its raw piece, whole hours and end piece read that day once.
    day = int(START // DAY_S)
    assert segments(START + 3600.5, START + 7 * 3600.5, None, START + 2 * DAY_S) == [
        ("daily", day, day + 1)]


async def test_an_hourly_purge_keeps_every_total_by_whole_days(
        history: SqlSpendHistory) -> None:
    rng = random.Random(42)
    entries = random_entries(rng, 500)
    await history.write_spend(entries)
    first_kept_hour = int(HOURLY_HORIZON // DAY_S) * 24  # the horizon's own day stays
    old_hours = await history._fetch("SELECT COUNT(*) FROM spend_hourly WHERE hour < ?",
                                     [first_kept_hour])
    assert old_hours[0][0] > 0
    assert await history.purge_spend_hourly(HOURLY_HORIZON, dry_run=True) == old_hours[0][0]
    assert await history.purge_spend(RAW_HORIZON) > 0
    assert await history.purge_spend_hourly(HOURLY_HORIZON) == old_hours[0][0]
    assert await history.purge_spend_hourly(HOURLY_HORIZON) == 0, "idempotent"
    left = await history._fetch("SELECT COUNT(*) FROM spend_hourly WHERE hour < ?",
                                [first_kept_hour])
    assert left[0][0] == 0
    # No retention set: what the reports read past comes from the purges recorded.
    assert history.spend_retention_s is None and history.spend_hourly_retention_s is None
    everything = await history.spend_groups(SpendQuery("acme", ("model",)))
    assert {g.group: g.cost_nanos for g in everything} == in_pieces(
        entries, SpendQuery("acme", ("model",)), None), "the totals lost nothing"
    await check_reports(history, entries, rng, "acme", RAW_HORIZON, first_kept_hour * HOUR_S)


async def test_a_purge_by_hand_moves_what_reports_read_for_its_tenant(
        history: SqlSpendHistory) -> None:
    """Before the purges were recorded, a report read the per-request rows that
    `costroute learn purge --spend --older-than ...` had deleted (when no retention, or a
    longer one, was set) and came out short."""
    rng = random.Random(43)
    entries = random_entries(rng, 400)
    await history.write_spend(entries)
    await history.purge_spend(RAW_HORIZON, "beta")
    await check_reports(history, entries, rng, "beta", RAW_HORIZON, None)
    await check_reports(history, entries, rng, "acme", None, None, rounds=10)  # untouched
    # A retention that says less than a purge did: the purge wins for its tenant.
    history.spend_retention_s = 30 * DAY_S
    history.spend_clock = lambda: RAW_HORIZON - DAY_S + 30 * DAY_S
    await check_reports(history, entries, rng, "beta", RAW_HORIZON, None, rounds=10)
    await check_reports(history, entries, rng, "acme", RAW_HORIZON - DAY_S, None, rounds=10)
    # Every tenant's report (tenant None) reads past the furthest purge of any tenant.
    horizons = await history.spend_horizons(None)
    assert horizons.raw == RAW_HORIZON and horizons.hourly is None


async def test_a_replayed_entry_past_a_recorded_purge_is_not_written_twice(
        history: SqlSpendHistory) -> None:
    rng = random.Random(44)
    entries = random_entries(rng, 300)
    await history.write_spend(entries)
    await history.purge_spend(RAW_HORIZON, "beta")  # by hand: no retention configured
    before = {t: await history.spend_groups(SpendQuery(t, ("model",))) for t in ("acme", "beta")}
    await history.write_spend(entries)  # a drain replayed from an old checkpoint
    assert {t: await history.spend_groups(SpendQuery(t, ("model",)))
            for t in ("acme", "beta")} == before
    assert history.spend_skipped_past_retention == sum(
        1 for e in entries
        if e.record.tenant == "beta" and unix_seconds(e.settled_at) < RAW_HORIZON)


async def test_the_sweeper_purges_hourly_totals_by_whole_days(tmp_path: Path) -> None:
    store = SQLiteRecordStore(tmp_path / "records.sqlite3", spend_retention_days=1,
                              spend_hourly_retention_days=2)
    entries = random_entries(random.Random(45), 200)
    try:
        sweeper = await swept(store, entries, HOURLY_HORIZON + 2 * DAY_S,
                              lambda s: s.purged_hourly)
        assert sweeper.last_error is None and sweeper.purged and sweeper.purged_hourly
        hours = await store._fetch("SELECT MIN(hour) FROM spend_hourly")
        assert hours[0][0] == int(HOURLY_HORIZON // DAY_S) * 24
        await check_reports(store, entries, random.Random(46), "acme",
                            HOURLY_HORIZON + DAY_S, HOURLY_HORIZON, rounds=10)
    finally:
        await store.aclose()


def test_the_hourly_setting_reaches_the_store_and_is_checked(tmp_path: Path) -> None:
    settings = RecordsConfig(kind="sqlite", path=str(tmp_path / "r.sqlite3"),
                             spend_retention_days=30, spend_hourly_retention_days=400)
    store = open_record_store(settings)
    assert isinstance(store, SqlSpendHistory)
    assert (store.spend_retention_s, store.spend_hourly_retention_s) == (30 * DAY_S,
                                                                         400 * DAY_S)
    for kind in ("memory", "none"):
        with pytest.raises(ValidationError, match="spend_hourly_retention_days"):
            RecordsConfig(kind=kind, spend_hourly_retention_days=30)
    with pytest.raises(ValidationError, match="at least"):
        RecordsConfig(spend_retention_days=30, spend_hourly_retention_days=7)
    with pytest.raises(ValidationError):
        RecordsConfig(spend_hourly_retention_days=0.5)  # under a day


def test_learn_purge_spend_hourly(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    entries = random_entries(random.Random(47), 120)  # settled in November 2026

    filled(db, entries)
    # beta's hourly totals: one per hour, period and group of its entries
    betas = len({(int(unix_seconds(e.settled_at) // HOUR_S), period, e.record.model,
                  e.record.route, e.record.language, e.record.tier,
                  str(e.record.extra.get("purpose", "traffic")))
                 for e in entries if e.record.tenant == "beta"
                 for period in ("", *(e.window_keys or ("-",)))})
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    base = ["purge", "--spend", "--hourly", "--config", str(config)]
    alone = CliRunner().invoke(app, ["purge", "--hourly", "--config", str(config)])
    assert alone.exit_code == 2 and "--hourly goes with --spend" in alone.output
    unset = CliRunner().invoke(app, base)
    assert unset.exit_code == 2 and "spend_hourly_retention_days" in unset.output
    dry = CliRunner().invoke(app, [*base, "--older-than", "1d", "--tenant", "beta",
                                   "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output) | {"before": 0} == {
        "tenant": "beta", "before": 0, "dry_run": True, "hourly_rows": betas}
    done = CliRunner().invoke(app, [*base, "--older-than", "1d", "--tenant", "beta"])
    assert done.exit_code == 0, done.output
    assert "hourly spend totals of the days before" in done.output
    assert done.output.rstrip().endswith(f": {betas} (daily totals kept)")

    async def after() -> tuple[int, int, float | None]:
        store = SQLiteRecordStore(db)
        hourly = await store._fetch("SELECT COUNT(*) FROM spend_hourly WHERE tenant = 'beta'")
        total = (await store.spend_groups(SpendQuery("beta")))[0].cost_nanos
        horizon = (await store.spend_horizons("beta")).hourly
        await store.aclose()
        return int(hourly[0][0]), total, horizon

    hourly, total, horizon = asyncio.run(after())
    assert hourly == 0 and horizon is not None and horizon % DAY_S == 0
    assert total == sum(e.actual_nanos for e in entries if e.record.tenant == "beta")


def test_a_gateway_with_hourly_retention_alone_purges_old_hourly_totals(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    entries = random_entries(random.Random(48), 100)  # settled in November 2026: > 1 day ago

    async def counts() -> tuple[int, int, int]:
        store = SQLiteRecordStore(db)
        try:
            hourly = await store._fetch("SELECT COUNT(*) FROM spend_hourly")
            rows = await store.spend_requests(SpendQuery(None), 1000, None)
            groups = await store.spend_groups(SpendQuery("acme"))
            return int(hourly[0][0]), len(rows), groups[0].cost_nanos
        finally:
            await store.aclose()

    filled(db, entries)
    total = sum(e.actual_nanos for e in entries if e.record.tenant == "acme")
    assert asyncio.run(counts())[0] > 0
    records = {"kind": "sqlite", "path": str(db), "spend_hourly_retention_days": 1,
               "purge_interval_s": 0.1}
    gateway_factory(sim_config(sim, records=records))
    deadline = time.monotonic() + 30
    while asyncio.run(counts())[0]:
        assert time.monotonic() < deadline, "the old hourly totals were never purged"
        time.sleep(0.1)
    assert asyncio.run(counts()) == (0, len(entries), total), "rows and daily totals stay"
