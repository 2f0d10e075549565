"""Spend reports: grouping of settled entries, and `costroute spend` over the log or Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.ledger.base import SpendStore
from gateway.ledger.cli import app
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.redis_store import RedisSpendStore
from gateway.ledger.report import summarize, total
from tests.gateway.ledger.helpers import record_for, window

SPENDS = [  # tenant, request, model, route, usd
    ("acme", "a1", "gpt-4o", "auto", 0.30),
    ("acme", "a2", "gpt-4o-mini", "auto", 0.02),
    ("acme", "a3", "gpt-4o", "cascade", 0.10),
    ("beta", "b1", "gpt-4o", "auto", 0.50),
]


async def _fill(store: SpendStore) -> None:
    windows = [window("day:2026-11-03", 5.0), window("month:2026-11", 50.0)]
    for tenant, request_id, model, route, usd in SPENDS:
        hold = await store.reserve(tenant, request_id, usd, windows, 60.0)
        await store.settle(hold, usd, record_for(hold, usd, model=model, route=route))


async def test_rows_group_by_the_chosen_dimensions() -> None:
    store = InMemorySpendStore()
    await _fill(store)
    entries = await store.entries()
    rows = {row.group: row.cost_nanos for row in summarize(entries, ["tenant", "model"])}
    assert rows == {("acme", "gpt-4o"): 400_000_000, ("acme", "gpt-4o-mini"): 20_000_000,
                    ("beta", "gpt-4o"): 500_000_000}
    assert total(entries).cost_nanos == 920_000_000
    assert total(entries).requests == 4


async def test_an_entry_counts_in_each_period_it_was_charged_to() -> None:
    store = InMemorySpendStore()
    await _fill(store)
    rows = summarize(await store.entries("beta"), ["period"])
    assert [(r.group, r.cost_nanos) for r in rows] == [
        (("day:2026-11-03",), 500_000_000), (("month:2026-11",), 500_000_000)]


def test_unknown_dimensions_are_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        summarize([], ["tenant", "colour"])


def test_cli_reads_the_spend_log(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"

    async def fill() -> None:
        store = InMemorySpendStore(log)
        await _fill(store)
        await store.close()

    asyncio.run(fill())
    result = CliRunner().invoke(app, ["--log", str(log), "--tenant", "acme",
                                      "--by", "route", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert {r["route"]: r["cost_usd"] for r in body["rows"]} == pytest.approx(
        {"auto": 0.32, "cascade": 0.10})

    table = CliRunner().invoke(app, ["--log", str(log)], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "gpt-4o-mini" in table.output and "beta" in table.output
    narrow = CliRunner().invoke(app, ["--log", str(log), "--by", "model"], env={"COLUMNS": "50"})
    assert narrow.exit_code == 0 and "…" not in narrow.output  # names fold, never cut


def test_cli_reads_the_log_costroute_serve_keeps_by_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTROUTE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COSTROUTE_SPEND_LOG", raising=False)
    monkeypatch.delenv("COSTROUTE_REDIS_URL", raising=False)
    missing = CliRunner().invoke(app, [])
    assert missing.exit_code == 2 and str(tmp_path / "spend.jsonl") in missing.output

    async def fill() -> None:
        store = InMemorySpendStore(tmp_path / "spend.jsonl")
        await _fill(store)
        await store.close()

    asyncio.run(fill())
    result = CliRunner().invoke(app, ["--by", "tenant", "--json"])
    assert result.exit_code == 0, result.output
    assert {r["tenant"]: r["cost_usd"] for r in json.loads(result.output)["rows"]} == \
        pytest.approx({"acme": 0.42, "beta": 0.50})


def test_cli_says_when_the_log_no_longer_holds_the_whole_history(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"

    async def fill_and_cut() -> None:
        store = InMemorySpendStore(log)
        await _fill(store)
        assert store.journal is not None
        first_line = len(log.read_bytes().split(b"\n", 1)[0]) + 1
        store.journal.compact(0, first_line)  # as once the drainer has the first entry
        await store.close()

    asyncio.run(fill_and_cut())
    result = CliRunner().invoke(app, ["--log", str(log), "--json"])
    assert result.exit_code == 0
    assert "was compacted (generation 1)" in result.stderr
    assert json.loads(result.stdout)["total"]["requests"] == len(SPENDS) - 1


@pytest.mark.redis
def test_cli_reads_redis(redis_url: str) -> None:
    async def fill() -> None:
        store = RedisSpendStore.from_url(redis_url)
        await _fill(store)
        await store.close()

    asyncio.run(fill())
    result = CliRunner().invoke(app, ["--redis-url", redis_url, "--by", "tenant",
                                      "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert {r["tenant"]: r["cost_usd"] for r in body["rows"]} == pytest.approx(
        {"acme": 0.42, "beta": 0.50})
    assert "note:" not in result.stderr


@pytest.mark.redis
def test_cli_says_what_the_drainer_took_from_redis(redis_url: str) -> None:
    """Entries drained into the records database are trimmed from Redis: the report says
    how many it cannot show, instead of passing for the whole history."""
    async def fill_and_drain() -> str:
        store = RedisSpendStore.from_url(redis_url)
        await _fill(store)
        outbox = store.spend_outbox()
        batch = await outbox.read(1)  # one entry, from one tenant's stream
        await outbox.ack(batch)
        await store.close()
        return batch.entries[0].record.tenant

    drained_tenant = asyncio.run(fill_and_drain())
    result = CliRunner().invoke(app, ["--redis-url", redis_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["requests"] == len(SPENDS) - 1
    assert "note: 1 entry was already drained from Redis" in result.stderr
    other = ({"acme", "beta"} - {drained_tenant}).pop()
    untouched = CliRunner().invoke(app, ["--redis-url", redis_url, "--tenant", other])
    assert untouched.exit_code == 0
    assert "note:" not in untouched.stderr


@pytest.mark.parametrize("args", [
    [],
    ["--log", "/nonexistent/spend.jsonl"],
    ["--log", "x", "--redis-url", "redis://127.0.0.1:1"],
    ["--redis-url", "redis://127.0.0.1:1"],
    ["--log", "x", "--by", "colour"],
])
def test_cli_bad_input_is_one_line_and_exit_2(args: list[str], monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("COSTROUTE_DATA_DIR", str(tmp_path))  # no spend log there
    monkeypatch.delenv("COSTROUTE_SPEND_LOG", raising=False)
    monkeypatch.delenv("COSTROUTE_REDIS_URL", raising=False)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
