"""Property: after any sequence of reserve/settle/release/expiry, every window obeys
reserved + settled + remaining == limit, and the store agrees with a plain model of it.

The model is written from the contract (holds count until settled, released or expired;
settling counts the actual cost once), not from the stores' code. The one way past the
limit is a settle that arrives after its hold expired: the money was spent upstream, so it
is counted anyway, and from then on remaining is 0 rather than negative.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.ledger.base import (
    BudgetWindow,
    Hold,
    InsufficientBudget,
    SpendStore,
    from_nanos,
    limit_to_nanos,
)
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.redis_store import RedisSpendStore
from tests.gateway.ledger.helpers import record_for

DAY = BudgetWindow("day", "day:2026-11-03", 0.05, "2026-11-04T00:00:00Z")
MONTH = BudgetWindow("month", "month:2026-11", 0.12, "2026-12-01T00:00:00Z")
WINDOWS = (DAY, MONTH)
TTL_S = 10.0

# Amounts on a 5000 n$ grid as well as arbitrary ones, so holds often fill a window exactly.
amounts = st.one_of(st.integers(0, 6).map(lambda k: k * 5_000), st.integers(0, 30_000))
reserve_op = st.tuples(st.just("reserve"), st.integers(0, 7), amounts)
settle_op = st.tuples(st.just("settle"), st.integers(0, 7),
                      st.one_of(st.sampled_from([0, 50, 100]), st.integers(0, 100)))
release_op = st.tuples(st.just("release"), st.integers(0, 7), st.just(0))
expire_op = st.tuples(st.just("expire"), st.integers(0, 7), st.just(0))


@dataclass
class Model:
    now: float = 0.0
    spent: int = 0  # every hold covers both windows, so one number per quantity suffices
    live: dict[str, tuple[int, float]] = field(default_factory=dict)  # id -> (nanos, expiry)
    holds: dict[str, Hold] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)
    late_settle: bool = False  # a settle came after its hold had expired

    def reserved(self) -> int:
        return sum(m for m, expiry in self.live.values() if expiry > self.now)

    def fits(self, amount: int) -> bool:
        used = self.spent + self.reserved()
        return all(used + amount <= limit_to_nanos(w.limit_usd) for w in WINDOWS)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _apply(store: SpendStore, tenant: str, model: Model, clock: Clock | None,
                 op: tuple[str, int, int]) -> None:
    kind, index, value = op
    request_id = f"r{index}"
    if kind == "reserve" and request_id not in model.settled and request_id not in model.live:
        try:
            hold = await store.reserve(tenant, request_id, from_nanos(value), WINDOWS, TTL_S)
        except InsufficientBudget:
            assert not model.fits(value)
            return
        assert model.fits(value)
        model.live[request_id] = (value, model.now + TTL_S)
        model.holds[request_id] = hold
    elif kind == "settle" and request_id in model.holds:
        hold = model.holds[request_id]
        actual = to_int(hold.amount_usd) * value // 100  # never more than was held
        await store.settle(hold, from_nanos(actual), record_for(hold, from_nanos(actual)))
        if request_id not in model.settled:
            model.spent += actual
            model.settled.add(request_id)
            model.late_settle |= request_id not in model.live
        model.live.pop(request_id, None)
    elif kind == "release" and request_id in model.holds:
        await store.release(model.holds[request_id])
        model.live.pop(request_id, None)
    elif kind == "expire" and clock is not None:
        clock.now = model.now = model.now + TTL_S * (index + 1) / 8
        model.live = {k: v for k, v in model.live.items() if v[1] > model.now}


def to_int(usd: float) -> int:
    return round(usd * 1_000_000_000)


async def _check(store: SpendStore, tenant: str, model: Model) -> None:
    for state in await store.state(tenant, WINDOWS):
        limit = limit_to_nanos(state.window.limit_usd)
        assert state.spent_nanos == model.spent
        assert state.reserved_nanos == model.reserved()
        if not model.late_settle:
            assert state.spent_nanos + state.reserved_nanos + state.remaining_nanos == limit
        assert state.remaining_nanos == max(0, limit - model.spent - model.reserved())


async def _run(store: SpendStore, tenant: str, ops: list[tuple[str, int, int]],
               clock: Clock | None) -> None:
    model = Model()
    for op in ops:
        await _apply(store, tenant, model, clock, op)
        await _check(store, tenant, model)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(reserve_op, settle_op, release_op, expire_op), max_size=40))
def test_memory_store_keeps_the_ledger_invariant(ops: list[tuple[str, int, int]]) -> None:
    clock = Clock()
    asyncio.run(_run(InMemorySpendStore(clock=clock), "acme", ops, clock))


@pytest.mark.redis
def test_redis_store_keeps_the_ledger_invariant(redis_url: str) -> None:
    # Redis keeps time with its own clock, so no expiry steps here (the TTL is long).
    @settings(max_examples=30, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(st.lists(st.one_of(reserve_op, settle_op, release_op), max_size=25))
    def run(ops: list[tuple[str, int, int]]) -> None:
        async def scenario() -> None:
            store = RedisSpendStore.from_url(redis_url)
            try:
                await _run(store, f"t-{uuid.uuid4().hex[:12]}", ops, None)
            finally:
                await store.close()

        asyncio.run(scenario())

    run()
