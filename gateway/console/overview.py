"""The overview page: today and this month against each budget, pacing and projection."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.console.views import day_of, totals
from gateway.ledger.base import SettledEntry, from_nanos
from gateway.ledger.guard import BudgetGuard
from gateway.ledger.report import DayRange
from gateway.tenants.config import TenantConfig

if TYPE_CHECKING:
    from gateway.assembly import Gateway


async def overview(gateway: Gateway, tenant: TenantConfig | None,
                   entries: Sequence[SettledEntry], now: datetime | None = None) -> dict[str, Any]:
    """Today's and this UTC month's figures, budgets, pacing and errors of `tenant` (None: all)."""
    at = now or datetime.now(UTC)
    today = at.date()
    month = DayRange(today.replace(day=1), today)
    in_month = month.select(entries)
    return {
        "now": at.isoformat(),
        "today": {"day": today.isoformat(),
                  **totals([e for e in in_month if day_of(e) == today.isoformat()])},
        "month": {"from": month.first.isoformat(), "to": month.last.isoformat(),
                  **totals(in_month)},
        "month_curve": _month_curve(in_month, at),
        "budgets": await _budgets(gateway, tenant),
        "errors": _errors(gateway, tenant.name if tenant else None),
    }


def _month_curve(entries: Sequence[SettledEntry], at: datetime) -> dict[str, Any]:
    """Cumulative USD by UTC day of this month, and the straight-line month-end projection
    (spend so far over the share of the month elapsed, as the budget rows project)."""
    today = at.date()
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    daily = [0] * days_in_month
    for entry in entries:
        daily[int(day_of(entry)[8:10]) - 1] += entry.actual_nanos
    cumulative, running = [], 0
    for day in range(today.day):
        running += daily[day]
        cumulative.append(from_nanos(running))
    spent = cumulative[-1] if cumulative else 0.0
    start = datetime(today.year, today.month, 1, tzinfo=UTC)
    elapsed = max((at - start).total_seconds() / (days_in_month * 86_400), 1e-6)
    return {"unit": "USD, cumulative, by UTC day", "days_in_month": days_in_month,
            "cumulative_usd": cumulative, "elapsed_fraction": elapsed,
            "projected_month_end_usd": spent / elapsed}


async def _budgets(gateway: Gateway, tenant: TenantConfig | None) -> list[dict[str, Any]]:
    """Each budget window of the tenant now: limit, spent, the pace line and the projection."""
    guard = getattr(gateway.budget, "guard", None)
    if tenant is None or not tenant.budgets or not isinstance(guard, BudgetGuard):
        return []
    status = await guard.status(tenant)
    out = []
    for state, elapsed in zip(status.states, status.elapsed):
        window = state.window
        pace = window.limit_usd * elapsed if elapsed is not None else None
        projected = state.spent_usd / elapsed if elapsed else None
        out.append({
            "name": window.name, "window": window.key, "limit_usd": window.limit_usd,
            "spent_usd": state.spent_usd, "reserved_usd": state.reserved_usd,
            "elapsed_fraction": elapsed, "pace_usd": pace, "projected_usd": projected,
            "resets_at": window.resets_at, "timezone": tenant.timezone,
        })
    return out


def _errors(gateway: Gateway, tenant: str | None) -> dict[str, Any]:
    """Errors returned to the tenant since this gateway started (every worker's), by code."""
    by_code: dict[str, int] = {}
    for metric in gateway.metrics.families(gateway.metrics.tenant_errors):
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            if tenant is not None and sample.labels.get("tenant") != tenant:
                continue
            code = sample.labels.get("code", "")
            by_code[code] = by_code.get(code, 0) + int(sample.value)
    return {"period": "since the gateway started", "total": sum(by_code.values()),
            "by_code": by_code}
