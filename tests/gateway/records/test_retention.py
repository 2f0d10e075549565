"""Records retention: the gateway's sweeper on a timer, and `costroute learn purge`."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.records.base import PurgeCounts, RecordStoreUnavailable
from gateway.records.cli import app, parse_age
from gateway.records.memory import MemoryRecordStore
from gateway.records.retention import DAY_S, RetentionSweeper
from gateway.records.sqlite import SQLiteRecordStore
from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.records.samples import label, request
from tests.gateway.records.test_feedback_http import answer, learning_tenants
from tests.gateway.records.test_learn_status_cli import _config, _fill


async def test_a_sweep_purges_what_is_older_than_the_retention() -> None:
    store = MemoryRecordStore()
    now = 100 * DAY_S
    await store.write_requests([request("old", at=now - 31 * DAY_S),
                                request("new", at=now - 29 * DAY_S)])
    await store.write_labels([label("old", at=now - 30.5 * DAY_S)])
    sweeper = RetentionSweeper(store, retention_days=30, clock=lambda: now)
    assert await sweeper.sweep() == PurgeCounts(requests=1, labels=1, vectors=0)
    assert await store.get_request("acme", "old") is None
    assert await store.get_request("acme", "new") is not None
    assert await sweeper.sweep() == PurgeCounts()
    assert sweeper.purged.requests == 1


class _Down(MemoryRecordStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.tries = 0

    async def purge(self, before: float, tenant: str | None = None, *,
                    dry_run: bool = False) -> PurgeCounts:
        self.tries += 1
        raise self.error


@pytest.mark.parametrize("error", [RecordStoreUnavailable("records database: connection refused"),
                                   ValueError("a bug in one round: refused")])
async def test_a_failed_round_is_skipped_and_the_sweeper_lives_on(error: Exception) -> None:
    store = _Down(error)
    sweeper = RetentionSweeper(store, retention_days=1, interval_s=0.01)
    sweeper.start()
    deadline = time.monotonic() + 10
    while store.tries < 3:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert sweeper.last_error is not None and "refused" in sweeper.last_error
    await sweeper.aclose()


def test_a_gateway_with_retention_deletes_its_old_records(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    # A retention of ~2 s and a sweep every 0.1 s: the record is written, then purged.
    records = {"kind": "sqlite", "path": str(db), "retention_days": 2 / DAY_S,
               "purge_interval_s": 0.1}
    gw = gateway_factory(sim_config(sim, records=records), learning_tenants())
    request_id, _ = answer(gw)

    async def stored() -> bool:
        store = SQLiteRecordStore(db)
        try:
            return (await store.counts(None)).requests > 0 if db.exists() else False
        finally:
            await store.aclose()

    deadline = time.monotonic() + 30
    while not asyncio.run(stored()):
        assert time.monotonic() < deadline, f"{request_id} was never recorded"
        time.sleep(0.05)
    while asyncio.run(stored()):
        assert time.monotonic() < deadline, f"{request_id} was never purged"
        time.sleep(0.1)


def test_purge_deletes_old_records_and_a_dry_run_only_counts(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)  # written at t=1000 s, in 1970
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    base = ["purge", "--config", str(config), "--older-than", "30d"]
    dry = CliRunner().invoke(app, [*base, "--tenant", "acme", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.output)
    assert (data["requests"], data["labels"], data["dry_run"]) == (3, 3, True)
    done = CliRunner().invoke(app, [*base, "--tenant", "acme"])
    assert done.exit_code == 0, done.output
    assert "deleted tenant acme's records" in done.output and "3 requests" in done.output
    status = json.loads(CliRunner().invoke(app, ["status", "--config", str(config),
                                                 "--json"]).output)
    assert status["requests"] == 1  # globex's is left
    ancient = CliRunner().invoke(app, ["purge", "--config", str(config), "--older-than",
                                       "3000w", "--json"])  # before 1970: nothing is
    assert json.loads(ancient.output)["requests"] == 0


def test_purge_reads_the_retention_from_the_config_or_asks(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    keeps = _config(tmp_path, {"kind": "sqlite", "path": str(db), "retention_days": 7})
    result = CliRunner().invoke(app, ["purge", "--config", str(keeps), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["requests"] == 4
    forever = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    result = CliRunner().invoke(app, ["purge", "--config", str(forever)])
    assert result.exit_code == 2 and "--older-than" in result.output
    result = CliRunner().invoke(app, ["purge", "--config", str(forever), "--older-than", "soon"])
    assert result.exit_code == 2 and "is not an age" in result.output


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * DAY_S), ("12h", 43_200.0),
                                               ("90m", 5400.0), ("1.5s", 1.5),
                                               (" 2w ", 14 * DAY_S)])
def test_ages_parse(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["30", "d", "-1d", "0d", "3 days", ""])
def test_bad_ages_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not an age"):
        parse_age(text)
