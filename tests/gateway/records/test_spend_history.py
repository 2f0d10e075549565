"""The spend table on real SQLite and PostgreSQL: idempotent writes, indexed aggregates."""

from __future__ import annotations

import asyncio
from collections import Counter

from gateway.ledger.entries import unix_seconds
from gateway.records.spend_history import SpendHistory, SpendQuery
from gateway.records.spend_sql import SqlSpendHistory
from tests.gateway.records.spend_samples import entry, mixed


async def test_record_stores_are_spend_histories(history: SqlSpendHistory) -> None:
    assert isinstance(history, SpendHistory)


async def test_retries_and_duplicates_land_once(history: SqlSpendHistory) -> None:
    entries = mixed(40)
    # A batch retried, overlapping batches from two drainers, all at once.
    await asyncio.gather(history.write_spend(entries), history.write_spend(entries[:25]),
                         history.write_spend(entries[10:]), history.write_spend(entries))
    [total] = await history.spend_groups(SpendQuery("acme"))
    assert total.requests == 40
    assert total.cost_nanos == sum(e.actual_nanos for e in entries)


async def test_group_bys_match_the_entries(history: SqlSpendHistory) -> None:
    entries = mixed(40)
    await history.write_spend(entries)
    for dims in (("model",), ("route",), ("language",), ("purpose",), ("model", "route")):
        groups = await history.spend_groups(SpendQuery("acme", dims))
        expected: Counter[tuple[str, ...]] = Counter()
        for e in entries:
            values = {"model": e.record.model, "route": e.record.route,
                      "language": e.record.language or "-",
                      "purpose": e.record.extra.get("purpose", "traffic")}
            expected[tuple(str(values[d]) for d in dims)] += e.actual_nanos
        assert {g.group: g.cost_nanos for g in groups} == dict(expected), dims


async def test_period_rows_count_each_request_in_each_window(history: SqlSpendHistory) -> None:
    entries = mixed(10)
    await history.write_spend(entries)
    groups = await history.spend_groups(SpendQuery("acme", ("period",)))
    total = sum(e.actual_nanos for e in entries)
    assert {g.group: g.cost_nanos for g in groups} == {("day:2026-11-03",): total,
                                                      ("month:2026-11",): total}


async def test_time_range_and_filters(history: SqlSpendHistory) -> None:
    entries = mixed(40)
    await history.write_spend(entries)
    since, until = unix_seconds(entries[10].settled_at), unix_seconds(entries[20].settled_at)
    [part] = await history.spend_groups(SpendQuery("acme", since=since, until=until))
    assert part.requests == 10  # from inclusive, to exclusive
    assert part.cost_nanos == sum(e.actual_nanos for e in entries[10:20])
    [learning] = await history.spend_groups(SpendQuery("acme", filters={"purpose": "learning"}))
    assert learning.requests == sum(1 for e in entries if e.record.extra.get("purpose"))
    assert await history.spend_cache_hits(SpendQuery("acme")) == sum(
        1 for e in entries if e.record.cache_hit)


async def test_tenants_are_apart(history: SqlSpendHistory) -> None:
    await history.write_spend([entry("same", tenant="acme"), entry("same", tenant="beta")])
    assert [g.requests for g in await history.spend_groups(SpendQuery("acme"))] == [1]
    assert [g.group for g in await history.spend_groups(SpendQuery(None, ("tenant",)))] == [
        ("acme",), ("beta",)]


async def test_request_listing_pages_through_every_request_once(
        history: SqlSpendHistory) -> None:
    entries = mixed(23)
    await history.write_spend(entries)
    seen: list[str] = []
    after = None
    while True:
        page = await history.spend_requests(SpendQuery("acme"), 5, after)
        seen += [r.request_id for r in page]
        if len(page) < 5:
            break
        after = (page[-1].settled_at, page[-1].request_id)
    assert seen == [e.record.request_id for e in entries]


async def test_whole_day_ranges_read_the_daily_totals_and_agree_with_the_rows(
        history: SqlSpendHistory) -> None:
    # 3 days x 8 requests; whole-day bounds use spend_daily, a bound inside a day the rows.
    entries = [entry(f"d{day}-{i}", nanos=1_000 * (day + 1) + i, minute=day * 1440 + i * 90,
                     model=("gpt-4o" if i % 2 else "gpt-4o-mini")) for day in range(3)
               for i in range(8)]
    await history.write_spend(entries)
    await history.write_spend(entries[5:12])  # a retried batch must not count twice
    day1 = unix_seconds("2026-11-04T00:00:00+00:00")
    day2 = unix_seconds("2026-11-05T00:00:00+00:00")

    def expect(since: float, until: float) -> dict[tuple[str, ...], int]:
        sums: Counter[tuple[str, ...]] = Counter()
        for e in entries:
            if since <= unix_seconds(e.settled_at) < until:
                sums[(e.record.model,)] += e.actual_nanos
        return dict(sums)

    for since, until in ((day1, day2), (day1 + 1, day2), (0.0, day2 + 86_400)):
        groups = await history.spend_groups(SpendQuery("acme", ("model",), since, until))
        assert {g.group: g.cost_nanos for g in groups} == expect(since, until), (since, until)
    [total] = await history.spend_groups(SpendQuery("acme"))
    assert total.requests == 24
