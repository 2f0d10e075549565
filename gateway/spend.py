"""The spend report: a tenant's settled spend by period, model and route, and its premium."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.ledger.base import SettledEntry, SpendStore
from gateway.ledger.report import DayRange, check_dimensions, summarize, total
from pricing import Estimator
from pricing.tenant_premium import ALL, PremiumPaid

DEFAULT_DIMENSIONS = ("period", "model", "route")


async def spend_report(store: SpendStore, estimator: Estimator, tenant: str | None,
                       by: Sequence[str] = DEFAULT_DIMENSIONS,
                       days: DayRange | None = None) -> dict[str, Any]:
    """JSON-ready report of `tenant`'s spend (every tenant's when None), within `days`."""
    check_dimensions(by)
    entries = await store.entries(tenant)
    if days is not None:
        entries = days.select(entries)
    overall = total(entries)
    return {
        "object": "costroute.spend",
        "tenant": tenant or "*",
        "by": list(by),
        **({"from": days.first.isoformat(), "to": days.last.isoformat()} if days else {}),
        "total": {"requests": overall.requests, "cost_usd": overall.cost_usd,
                  "prompt_tokens": overall.prompt_tokens,
                  "completion_tokens": overall.completion_tokens},
        "rows": [row.as_dict(by) for row in summarize(entries, by)],
        "cache_hits": sum(1 for e in entries if e.record.cache_hit),
        "language_premium": language_premium(entries, estimator),
    }


def language_premium(entries: Sequence[SettledEntry], estimator: Estimator) -> list[dict[str, Any]]:
    """What the tenant paid because its languages cost more tokens than English would.

    Each request is divided by the premium of *its own model's* tokenizer for its language,
    so a tenant routed to a tokenizer that is cheap for its language pays less premium.
    """
    totals: dict[str, PremiumPaid] = {}
    for entry in entries:
        record = entry.record
        language = record.language or "und"
        price = estimator.catalog.get(record.model)
        factor = estimator.premium(price, language) if price is not None else 1.0
        factor = factor if factor > 0 else 1.0
        row = PremiumPaid(1, record.prompt_tokens, record.prompt_tokens / factor,
                          entry.actual_nanos / 1e9, entry.actual_nanos / 1e9 / factor)
        for key in (language, ALL):
            old = totals.get(key)
            totals[key] = row if old is None else PremiumPaid(
                old.requests + row.requests, old.prompt_tokens + row.prompt_tokens,
                old.english_equivalent_tokens + row.english_equivalent_tokens,
                old.cost_usd + row.cost_usd, old.english_equivalent_usd + row.english_equivalent_usd)
    return [
        {"language": language, "requests": p.requests, "cost_usd": round(p.cost_usd, 8),
         "english_equivalent_usd": round(p.english_equivalent_usd, 8),
         "premium_usd": round(p.premium_usd, 8), "premium": round(p.premium, 4)}
        for language, p in sorted(totals.items())
    ]
