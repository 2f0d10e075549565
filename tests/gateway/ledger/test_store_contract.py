"""Behaviour every SpendStore shares, run against the embedded store and real Redis."""

from __future__ import annotations

import pytest

from gateway.ledger.base import (
    InsufficientBudget,
    RequestAlreadySettled,
    SpendStore,
    to_nanos,
)
from tests.gateway.ledger.helpers import eventually, record_for, window

TTL = 60.0


async def test_settle_moves_the_hold_into_spend(store: SpendStore) -> None:
    month = window(limit_usd=1.0)
    hold = await store.reserve("acme", "r1", 0.30, [month], TTL)
    [held] = await store.state("acme", [month])
    assert (held.spent_nanos, held.reserved_nanos) == (0, 300_000_000)

    await store.settle(hold, 0.12, record_for(hold, 0.12))

    [after] = await store.state("acme", [month])
    assert (after.spent_nanos, after.reserved_nanos) == (120_000_000, 0)
    assert after.remaining_nanos == 880_000_000


async def test_a_reserve_that_does_not_fit_names_its_window(store: SpendStore) -> None:
    month = window(limit_usd=1.0)
    await store.reserve("acme", "r1", 0.75, [month], TTL)
    with pytest.raises(InsufficientBudget) as caught:
        await store.reserve("acme", "r2", 0.30, [month], TTL)
    assert caught.value.window == month
    assert caught.value.remaining_usd == pytest.approx(0.25)


async def test_a_hold_must_fit_every_window_or_none_is_touched(store: SpendStore) -> None:
    day, month = window("day:2026-11-03", 0.10), window("month:2026-11", 5.0)
    with pytest.raises(InsufficientBudget) as caught:
        await store.reserve("acme", "r1", 0.20, [month, day], TTL)
    assert caught.value.window == day
    states = await store.state("acme", [month, day])
    assert [s.reserved_nanos for s in states] == [0, 0]


async def test_settle_is_idempotent_per_request(store: SpendStore) -> None:
    month = window()
    hold = await store.reserve("acme", "r1", 0.10, [month], TTL)
    for _ in range(3):
        await store.settle(hold, 0.07, record_for(hold, 0.07))
    [state] = await store.state("acme", [month])
    assert state.spent_nanos == to_nanos(0.07)
    assert len(await store.records("acme")) == 1


async def test_release_is_idempotent_and_frees_the_hold(store: SpendStore) -> None:
    month = window(limit_usd=0.10)
    hold = await store.reserve("acme", "r1", 0.10, [month], TTL)
    await store.release(hold)
    await store.release(hold)
    [state] = await store.state("acme", [month])
    assert (state.spent_nanos, state.reserved_nanos) == (0, 0)
    await store.reserve("acme", "r2", 0.10, [month], TTL)


async def test_release_after_settle_changes_nothing(store: SpendStore) -> None:
    month = window()
    hold = await store.reserve("acme", "r1", 0.10, [month], TTL)
    await store.settle(hold, 0.04, record_for(hold, 0.04))
    await store.release(hold)
    [state] = await store.state("acme", [month])
    assert (state.spent_nanos, state.reserved_nanos) == (40_000_000, 0)


async def test_a_settled_request_id_cannot_reserve_again(store: SpendStore) -> None:
    month = window()
    hold = await store.reserve("acme", "r1", 0.10, [month], TTL)
    await store.settle(hold, 0.10, record_for(hold, 0.10))
    with pytest.raises(RequestAlreadySettled):
        await store.reserve("acme", "r1", 0.10, [month], TTL)


async def test_reserving_a_live_hold_again_does_not_hold_twice(store: SpendStore) -> None:
    month = window()
    await store.reserve("acme", "r1", 0.10, [month], TTL)
    await store.reserve("acme", "r1", 0.10, [month], TTL)
    [state] = await store.state("acme", [month])
    assert state.reserved_nanos == 100_000_000


async def test_one_tenants_holds_and_spend_never_touch_another(store: SpendStore) -> None:
    month = window(limit_usd=0.50)
    hold = await store.reserve("tenant-a", "r1", 0.50, [month], TTL)
    await store.settle(hold, 0.50, record_for(hold, 0.50))
    await store.reserve("tenant-a", "r2", 0.0, [month], TTL)

    other = await store.reserve("tenant-b", "r1", 0.50, [month], TTL)
    [b_state] = await store.state("tenant-b", [month])
    assert (b_state.spent_nanos, b_state.reserved_nanos) == (0, 500_000_000)
    assert other.tenant == "tenant-b"
    assert [r.tenant for r in await store.records("tenant-b")] == []
    assert [r.request_id for r in await store.records("tenant-a")] == ["r1"]


async def test_an_expired_hold_gives_its_budget_back(store: SpendStore) -> None:
    month = window(limit_usd=0.10)
    await store.reserve("acme", "crashed", 0.10, [month], ttl_s=0.05)

    async def restored() -> bool:
        [state] = await store.state("acme", [month])
        return state.reserved_nanos == 0

    assert await eventually(restored)
    await store.reserve("acme", "next", 0.10, [month], TTL)


async def test_settling_after_the_hold_expired_still_records_the_spend(store: SpendStore) -> None:
    month = window(limit_usd=1.0)
    hold = await store.reserve("acme", "slow", 0.10, [month], ttl_s=0.05)

    async def expired() -> bool:
        [state] = await store.state("acme", [month])
        return state.reserved_nanos == 0

    assert await eventually(expired)
    await store.settle(hold, 0.08, record_for(hold, 0.08))
    [state] = await store.state("acme", [month])
    assert state.spent_nanos == 80_000_000


async def test_without_budgets_every_reserve_fits_and_spend_is_logged(store: SpendStore) -> None:
    hold = await store.reserve("free", "r1", 1e6, [], TTL)
    await store.settle(hold, 2.5, record_for(hold, 2.5))
    [entry] = await store.entries("free")
    assert entry.window_keys == ()
    assert entry.actual_nanos == 2_500_000_000


async def test_entries_carry_windows_and_the_record(store: SpendStore) -> None:
    day, month = window("day:2026-11-03", 1.0), window("month:2026-11", 9.0)
    hold = await store.reserve("acme", "r1", 0.2, [day, month], TTL)
    await store.settle(hold, 0.15, record_for(hold, 0.15, model="gpt-4o", route="cascade"))
    [entry] = await store.entries()
    assert entry.window_keys == ("day:2026-11-03", "month:2026-11")
    assert (entry.record.model, entry.record.route) == ("gpt-4o", "cascade")
    assert entry.record.cost_usd == 0.15
    assert entry.settled_at.endswith("+00:00")


async def test_bad_arguments_are_refused(store: SpendStore) -> None:
    month = window()
    with pytest.raises(ValueError):
        await store.reserve("acme", "r1", -0.01, [month], TTL)
    with pytest.raises(ValueError):
        await store.reserve("acme", "r1", 0.01, [month, month], TTL)
    hold = await store.reserve("acme", "r1", 0.01, [month], TTL)
    with pytest.raises(ValueError):
        await store.settle(hold, 0.01, record_for(hold, 0.01).__class__(
            tenant="other", request_id="r1", model="m", route="r", cost_usd=0.01))


async def test_top_up_raises_a_live_hold_and_only_the_increase_must_fit(
        store: SpendStore) -> None:
    month = window(limit_usd=1.0)
    hold = await store.reserve("acme", "r1", 0.40, [month], TTL)
    await store.reserve("acme", "r2", 0.40, [month], TTL)
    raised = await store.top_up(hold, 0.60, TTL)  # +0.20 fits next to the other 0.40
    assert raised.amount_usd == pytest.approx(0.60)
    [state] = await store.state("acme", [month])
    assert state.reserved_nanos == to_nanos(1.0)
    with pytest.raises(InsufficientBudget) as caught:
        await store.top_up(raised, 0.61, TTL)
    assert caught.value.window == month
    [after] = await store.state("acme", [month])
    assert after.reserved_nanos == to_nanos(1.0), "a refused top-up must change nothing"


async def test_top_up_to_less_than_held_changes_nothing(store: SpendStore) -> None:
    month = window(limit_usd=1.0)
    hold = await store.reserve("acme", "r1", 0.50, [month], TTL)
    same = await store.top_up(hold, 0.20, TTL)
    assert same.amount_usd == pytest.approx(0.50)
    [state] = await store.state("acme", [month])
    assert state.reserved_nanos == to_nanos(0.50)


async def test_a_settled_hold_cannot_be_topped_up_and_settle_counts_once(
        store: SpendStore) -> None:
    month = window(limit_usd=1.0)
    hold = await store.reserve("acme", "r1", 0.10, [month], TTL)
    raised = await store.top_up(hold, 0.30, TTL)
    await store.settle(raised, 0.25, record_for(raised, 0.25))
    [state] = await store.state("acme", [month])
    assert (state.spent_nanos, state.reserved_nanos) == (to_nanos(0.25), 0)
    with pytest.raises(RequestAlreadySettled):
        await store.top_up(raised, 0.50, TTL)
