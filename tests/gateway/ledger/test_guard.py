"""BudgetGuard: the tenant's windows, the hard stop, fail-open, queued settlements, pacing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from gateway.ledger.base import BudgetWindow, Hold, SpendRecord, StoreUnavailable
from gateway.ledger.guard import BudgetGuard
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.status import BudgetExhausted
from gateway.tenants.config import TenantConfig
from tests.gateway.ledger.helpers import record_for

# 2026-11-20 12:00 in New York (EST, UTC-5).
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def tenant(**overrides: object) -> TenantConfig:
    fields: dict[str, object] = {
        "name": "acme",
        "timezone": "America/New_York",
        "budgets": [{"period": "month", "limit_usd": 1.0, "alert_fraction": 0.5},
                    {"period": "day", "limit_usd": 0.2}],
        "policy": {"objective": "max_utility", "knob": 0.0},
    }
    fields.update(overrides)
    return TenantConfig.model_validate(fields)


class FlakyStore(InMemorySpendStore):
    """The embedded store, with a switch that makes every call fail like a Redis outage."""

    down = False

    def _maybe_fail(self) -> None:
        if self.down:
            raise StoreUnavailable("switched off")

    async def reserve(self, tenant: str, request_id: str, amount_usd: float,
                      windows: Sequence[BudgetWindow], ttl_s: float) -> Hold:
        self._maybe_fail()
        return await super().reserve(tenant, request_id, amount_usd, windows, ttl_s)

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        self._maybe_fail()
        await super().settle(hold, actual_usd, record)

    async def release(self, hold: Hold) -> None:
        self._maybe_fail()
        await super().release(hold)

    async def state(self, tenant: str, windows: Sequence[BudgetWindow]) -> list:  # type: ignore[type-arg]
        self._maybe_fail()
        return await super().state(tenant, windows)


def guard(store: InMemorySpendStore | None = None, **options: object) -> BudgetGuard:
    return BudgetGuard(store or InMemorySpendStore(), clock=lambda: NOW, **options)  # type: ignore[arg-type]


def test_windows_follow_the_tenants_zone_and_budgets() -> None:
    windows = guard().windows_for(tenant())
    assert [(w.key, w.limit_usd, w.resets_at) for w in windows] == [
        ("month:2026-11", 1.0, "2026-12-01T00:00:00-05:00"),
        ("day:2026-11-20", 0.2, "2026-11-21T00:00:00-05:00"),
    ]


async def test_the_hard_stop_names_the_window_and_its_reset_time() -> None:
    gate = guard()
    await gate.reserve(tenant(), "r1", 0.15)
    with pytest.raises(BudgetExhausted) as caught:
        await gate.reserve(tenant(), "r2", 0.10)
    error = caught.value
    assert (error.error_type, error.code) == ("insufficient_quota", "budget_exceeded")
    assert error.window.name == "day"
    assert error.resets_at == "2026-11-21T00:00:00-05:00"
    assert "2026-11-21T00:00:00-05:00" in error.message
    assert error.remaining_usd == pytest.approx(0.05)


async def test_the_hard_stop_states_a_sub_cent_limit_in_full() -> None:
    gate = guard()
    with pytest.raises(BudgetExhausted) as caught:
        await gate.reserve(tenant(budgets=[{"period": "day", "limit_usd": 0.002}]), "r1", 0.01)
    assert caught.value.message.startswith("Your day budget of $0.002 has $0.002000 left")
    with pytest.raises(BudgetExhausted) as caught:
        await gate.reserve(tenant(budgets=[{"period": "day", "limit_usd": 5}]), "r2", 6.0)
    assert caught.value.message.startswith("Your day budget of $5.00 has")


async def test_a_total_budget_says_it_does_not_reset() -> None:
    gate = guard()
    with pytest.raises(BudgetExhausted, match="does not reset"):
        await gate.reserve(tenant(budgets=[{"period": "total", "limit_usd": 0.01}]), "r1", 0.02)


async def test_a_reloaded_budget_applies_to_the_next_request() -> None:
    gate = guard()
    await gate.reserve(tenant(), "r1", 0.2)
    with pytest.raises(BudgetExhausted):
        await gate.reserve(tenant(), "r2", 0.1)
    raised = tenant(budgets=[{"period": "month", "limit_usd": 1.0},
                             {"period": "day", "limit_usd": 0.5}])
    await gate.reserve(raised, "r2", 0.1)


async def test_store_down_fails_closed_by_default() -> None:
    store = FlakyStore()
    store.down = True
    with pytest.raises(StoreUnavailable):
        await guard(store).reserve(tenant(), "r1", 0.1)
    with pytest.raises(StoreUnavailable):
        await guard(store).status(tenant())


async def test_store_down_admits_when_configured_to_fail_open() -> None:
    store = FlakyStore()
    store.down = True
    gate = guard(store, fail_open=True)
    hold = await gate.reserve(tenant(), "r1", 0.1)
    assert hold.request_id == "r1"
    assert not (await gate.status(tenant())).known


async def test_settlements_made_while_down_are_recorded_once_it_is_back() -> None:
    store = FlakyStore()
    gate = guard(store)
    hold = await gate.reserve(tenant(), "r1", 0.1)
    store.down = True
    await gate.settle(hold, 0.08, record_for(hold, 0.08))
    await gate.release(hold)
    assert gate.pending == 1

    store.down = False
    await gate.reserve(tenant(), "r2", 0.01)
    assert gate.pending == 0
    [month, _day] = (await gate.status(tenant())).states
    assert (month.spent_nanos, month.reserved_nanos) == (80_000_000, 10_000_000)


async def test_status_reports_fraction_left_and_alerts() -> None:
    gate = guard()
    hold = await gate.reserve(tenant(), "r1", 0.2)
    await gate.settle(hold, 0.1, record_for(hold, 0.1))
    status = await gate.status(tenant())
    assert status.remaining_fraction() == pytest.approx(0.5)  # the day: 0.1 of 0.2 left
    assert [s.window.name for s in status.alerting()] == []
    assert await gate.remaining_fraction(tenant()) == pytest.approx(0.5)
    assert await gate.remaining_fraction(tenant(budgets=[])) is None


async def test_affordability_check_names_the_blocking_window() -> None:
    gate = guard()
    await gate.reserve(tenant(), "r1", 0.19)
    status = await gate.status(tenant())
    assert status.blocking(0.005) is None
    with pytest.raises(BudgetExhausted) as caught:
        status.ensure_affordable(0.02)
    assert caught.value.window.name == "day"


async def test_pacing_tightens_the_knob_when_spend_outruns_the_month() -> None:
    # Nov 20 noon in New York: 469 of the 721 hours of November (DST ends on the 1st) are
    # gone, so 252/721 of the month is left.
    paced = tenant(budgets=[{"period": "month", "limit_usd": 1.0}],
                   pacing={"kind": "linear", "tight_knob": 10.0},
                   policy={"objective": "max_utility", "knob": 2.0})
    gate = guard()
    on_pace = await gate.status(paced)
    assert gate.policy_for(paced, on_pace).knob == pytest.approx(2.0)

    hold = await gate.reserve(paced, "r1", 0.825)
    await gate.settle(hold, 0.825, record_for(hold, 0.825))
    behind = await gate.status(paced)
    # 17.5% of the budget left against 252/721 of the time: t = 1 - 0.175 * 721 / 252.
    tightness = 1 - 0.175 * 721 / 252
    assert gate.policy_for(paced, behind).knob == pytest.approx(2.0 + tightness * 8.0)
