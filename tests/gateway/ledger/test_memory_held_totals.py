"""The in-process store keeps what live holds add up to as a running total per tenant and
window (not a scan of the tenant's holds on each reserve): the total must follow every hold
through reserve, top-up, settle, release and expiry, so that a budget is never overspent."""

from __future__ import annotations

import random

from gateway.ledger.base import InsufficientBudget, from_nanos, to_nanos
from gateway.ledger.memory import InMemorySpendStore
from tests.gateway.ledger.helpers import record_for, window


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


DAY = window("day:2026-11-03", limit_usd=1000.0)
MONTH = window("month:2026-11", limit_usd=1000.0)


async def test_a_topped_up_hold_outlives_its_first_expiry_and_then_frees_its_amount() -> None:
    clock = Clock()
    store = InMemorySpendStore(clock=clock)
    month = window(limit_usd=1.0)
    hold = await store.reserve("acme", "r1", 0.30, [month], ttl_s=10)
    clock.now = 5
    await store.top_up(hold, 0.50, ttl_s=10)  # now expires at 15, not 10
    clock.now = 12
    [state] = await store.state("acme", [month])
    assert state.reserved_nanos == to_nanos(0.50)
    try:
        await store.reserve("acme", "r2", 0.60, [month], ttl_s=10)
        raise AssertionError("0.50 held + 0.60 fits a 1.00 budget")
    except InsufficientBudget as exc:
        assert exc.remaining_usd == from_nanos(to_nanos(0.50))
    clock.now = 15
    [state] = await store.state("acme", [month])
    assert state.reserved_nanos == 0
    await store.reserve("acme", "r2", 1.0, [month], ttl_s=10)


async def test_running_totals_match_the_live_holds_under_expiry() -> None:
    """Random reserves (two tenants, one or two windows, varied TTLs), top-ups, settles,
    releases and clock steps: after each, every total equals the sum over the holds that
    are live by the contract."""
    rng = random.Random(15)
    clock = Clock()
    store = InMemorySpendStore(clock=clock)
    live: dict[tuple[str, str], tuple[int, float, tuple[str, ...]]] = {}  # -> nanos, expiry
    holds = {}
    spent = {(t, w.key): 0 for t in ("a", "b") for w in (DAY, MONTH)}
    settled: set[tuple[str, str]] = set()
    for step in range(6000):
        clock.now += rng.choice((0.0, 0.0, 0.01, 0.3))
        tenant = rng.choice(("a", "b"))
        request_id = f"r{rng.randrange(3000)}"
        key = (tenant, request_id)
        nanos = rng.randrange(1, 50_000)
        op = rng.random()
        current = live.get(key)
        if current is not None and current[1] <= clock.now:
            current = None  # expired by the contract, whether or not the store looked yet
        if op < 0.45 and key not in settled and current is None:
            windows = [DAY, MONTH] if rng.random() < 0.5 else [MONTH]
            ttl = rng.choice((0.5, 2.0, 30.0))
            holds[key] = await store.reserve(tenant, request_id, from_nanos(nanos), windows, ttl)
            live[key] = (nanos, clock.now + ttl, tuple(w.key for w in windows))
        elif op < 0.55 and current is not None and key not in settled:
            more = current[0] + nanos
            ttl = rng.choice((0.5, 2.0, 30.0))
            holds[key] = await store.top_up(holds[key], from_nanos(more), ttl)
            live[key] = (more, clock.now + ttl, current[2])
        elif op < 0.85 and key in holds and key not in settled:
            cost = rng.randrange(0, 50_000)
            await store.settle(holds[key], from_nanos(cost), record_for(holds[key], 0.0))
            for wkey in (w.key for w in holds[key].windows):
                spent[(tenant, wkey)] += cost
            settled.add(key)
            live.pop(key, None)
        elif key in holds:
            await store.release(holds[key])
            live.pop(key, None)
        if step % 50 == 0 or step > 5900:
            for t in ("a", "b"):
                states = await store.state(t, [DAY, MONTH])
                for w, state in zip((DAY, MONTH), states, strict=True):
                    expected = sum(n for (ht, _), (n, expiry, keys) in live.items()
                                   if ht == t and expiry > clock.now and w.key in keys)
                    assert state.reserved_nanos == expected, (step, t, w.key)
                    assert state.spent_nanos == spent[(t, w.key)]
            count, _ = store.live_holds()
            assert count == sum(1 for _, expiry, _ in live.values() if expiry > clock.now)
    clock.now += 100
    assert [s.reserved_nanos for s in await store.state("a", [DAY, MONTH])] == [0, 0]
    assert store.live_holds() == (0, 0)


async def test_settled_holds_do_not_pile_up_in_the_expiry_heap_until_their_ttl() -> None:
    """A settled hold's expiry entry stays behind until its TTL (15 minutes by default): at
    a thousand requests a second that would be most of a million entries, so the heap is
    rebuilt from the live holds once it holds twice as many (and more than a floor)."""
    store = InMemorySpendStore(clock=Clock())
    month = window(limit_usd=1000.0)
    peak = 0
    for i in range(5000):
        hold = await store.reserve("acme", f"r{i}", 0.001, [month], ttl_s=900)
        peak = max(peak, store.live_holds()[1])
        await store.settle(hold, 0.001, record_for(hold, 0.001))
    assert peak <= 1026
    assert store.live_holds()[0] == 0


async def test_zero_dollar_holds_come_and_go_beside_real_ones() -> None:
    """A $0 hold (a free model) adds nothing to its window's total, and dropping it, or the
    last real hold before it, never loses track of the total (found by the property test)."""
    store = InMemorySpendStore(clock=Clock())
    month = window(limit_usd=1.0)
    free1 = await store.reserve("acme", "free1", 0.0, [month], ttl_s=10)
    free2 = await store.reserve("acme", "free2", 0.0, [month], ttl_s=10)
    await store.release(free1)
    await store.release(free2)
    paid = await store.reserve("acme", "paid", 0.25, [month], ttl_s=10)
    free3 = await store.reserve("acme", "free3", 0.0, [month], ttl_s=10)
    [state] = await store.state("acme", [month])
    assert state.reserved_nanos == to_nanos(0.25)
    await store.settle(paid, 0.20, record_for(paid, 0.20))
    await store.release(free3)
    [state] = await store.state("acme", [month])
    assert (state.reserved_nanos, state.spent_nanos) == (0, to_nanos(0.20))
