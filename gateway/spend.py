"""The spend report: a tenant's settled spend by period, model, route, language and purpose.

Two sources, one JSON shape. With a records database (`records:` sqlite or postgres) the
report is indexed aggregate queries on the `spend` table (gateway/records/spend_sql.py),
and says how far the database is behind the ledger (`lag`). Without one (`records: none`)
it sums the ledger's own log in Python, as before: fine for small installs only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gateway.ledger.base import (
    LedgerCorrupt,
    SettledEntry,
    SpendStore,
    StoreUnavailable,
    from_nanos,
)
from gateway.ledger.entries import unix_seconds
from gateway.ledger.report import check_dimensions, summarize, total
from gateway.ledger.spend_outbox import OutboxLag
from gateway.records.base import RecordStoreUnavailable
from gateway.records.spend_drainer import SpendDrainer
from gateway.records.spend_history import (
    SpendGroup,
    SpendHistoryUnavailable,
    SpendQuery,
    check_query,
    purpose_of,
)
from gateway.spend_params import SpendParams, encode_cursor
from pricing import Estimator
from pricing.tenant_premium import ALL, PremiumPaid

DEFAULT_DIMENSIONS = ("period", "model", "route")
_FIXED = ("model", "route", "language", "tier")


async def spend_report(store: SpendStore, estimator: Estimator, tenant: str | None,
                       by: Sequence[str] = DEFAULT_DIMENSIONS,
                       query: SpendQuery | None = None) -> dict[str, Any]:
    """JSON-ready report of `tenant`'s spend (every tenant's when None), from the ledger."""
    check_dimensions(by)
    entries = [e for e in await store.entries(tenant) if query is None or _matches(e, query)]
    overall = total(entries)
    premium_rows = ((e.record.language or "und", e.record.model, 1, e.record.prompt_tokens,
                     e.actual_nanos) for e in entries)
    return {
        "object": "costroute.spend",
        "tenant": tenant or "*",
        "by": list(by),
        "total": {"requests": overall.requests, "cost_usd": overall.cost_usd,
                  "prompt_tokens": overall.prompt_tokens,
                  "completion_tokens": overall.completion_tokens},
        "rows": [row.as_dict(by) for row in summarize(entries, by)],
        "cache_hits": sum(1 for e in entries if e.record.cache_hit),
        "language_premium": _language_premium(premium_rows, estimator),
        "source": "ledger",
        "lag": None,
        "from": query.since if query is not None else None,  # unix seconds, as below
        "to": query.until if query is not None else None,
    }


async def history_report(drainer: SpendDrainer, estimator: Estimator,
                         params: SpendParams) -> dict[str, Any]:
    """The same report from the records database, plus its lag and a page of requests."""
    query = params.query
    check_query(query)
    await drainer.catch_up()
    history = drainer.history
    try:
        lag: dict[str, Any] = (await drainer.lag()).as_dict()
    except (StoreUnavailable, LedgerCorrupt, OSError) as exc:  # the report stands without it
        lag = {**OutboxLag(-1, None).as_dict(), "error": type(exc).__name__}
    try:
        overall = await history.spend_groups(_by(query, ()))
        rows = await history.spend_groups(query)
        languages = await history.spend_groups(_by(query, ("language", "model")))
        cache_hits = await history.spend_cache_hits(query)
    except RecordStoreUnavailable as exc:
        raise SpendHistoryUnavailable(
            f"The records database is unavailable, so the spend report cannot be read; "
            f"{lag['pending']} settled entries wait in the outbox (oldest "
            f"{lag['oldest_pending_age_s']} s), none lost; retry shortly.") from exc
    head = overall[0] if overall else SpendGroup((), 0, 0, 0, 0)
    report: dict[str, Any] = {
        "object": "costroute.spend",
        "tenant": query.tenant or "*",
        "by": list(query.by),
        "total": {"requests": head.requests, "cost_usd": from_nanos(head.cost_nanos),
                  "prompt_tokens": head.prompt_tokens,
                  "completion_tokens": head.completion_tokens},
        "rows": [{**dict(zip(query.by, g.group)), "requests": g.requests,
                  "prompt_tokens": g.prompt_tokens, "completion_tokens": g.completion_tokens,
                  "cost_usd": from_nanos(g.cost_nanos)} for g in rows],
        "cache_hits": cache_hits,
        "language_premium": _language_premium(
            ((g.group[0] if g.group[0] != "-" else "und", g.group[1], g.requests,
              g.prompt_tokens, g.cost_nanos) for g in languages), estimator),
        "source": "records",
        "lag": lag,
        "from": query.since,
        "to": query.until,
    }
    if params.listing:
        try:
            page = await history.spend_requests(query, params.limit, params.after)
            horizons = await history.spend_horizons(query.tenant)
        except RecordStoreUnavailable as exc:
            raise SpendHistoryUnavailable("The records database is unavailable; retry "
                                          "shortly.") from exc
        report["requests"] = [
            {"request_id": r.request_id, "tenant": r.tenant, "settled_at": r.settled_at,
             "model": r.model, "route": r.route, "tier": r.tier, "language": r.language,
             "purpose": r.purpose, "cost_usd": from_nanos(r.cost_nanos),
             "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
             "cache_hit": r.cache_hit, "estimated": r.estimated,
             "held_usd": r.extra.get("held_usd"),
             "client_request_id": r.extra.get("client_request_id")} for r in page]
        # Per-request rows settled before this were purged (spend retention, or by hand):
        # the listing cannot show them, although the totals above still count them.
        report["requests_from"] = horizons.raw
        last = page[-1] if len(page) == params.limit else None
        report["next_cursor"] = (encode_cursor(last.settled_at, last.request_id)
                                 if last is not None else None)
    return report


def _by(query: SpendQuery, by: tuple[str, ...]) -> SpendQuery:
    return SpendQuery(query.tenant, by, query.since, query.until, query.filters)


def _matches(entry: SettledEntry, query: SpendQuery) -> bool:
    record = entry.record
    if query.since is not None or query.until is not None:
        at = unix_seconds(entry.settled_at)
        if (query.since is not None and at < query.since) or (
                query.until is not None and at >= query.until):
            return False
    for name, value in query.filters.items():
        have = purpose_of(entry) if name == "purpose" else getattr(record, name, None)
        if (have or "-") != value:
            return False
    return True


def language_premium(entries: Sequence[SettledEntry], estimator: Estimator) -> list[dict[str, Any]]:
    """The language premium of settled entries (the console reads it too)."""
    return _language_premium(((e.record.language or "und", e.record.model, 1,
                               e.record.prompt_tokens, e.actual_nanos) for e in entries),
                             estimator)


def _language_premium(rows: Iterable[tuple[str, str, int, int, int]],
                      estimator: Estimator) -> list[dict[str, Any]]:
    """What the tenant paid because its languages cost more tokens than English would.

    Each (language, model) total is divided by the premium of *that model's* tokenizer for
    its language, so a tenant routed to a tokenizer that is cheap for its language pays less.
    """
    totals: dict[str, PremiumPaid] = {}
    for language, model, requests, prompt_tokens, nanos in rows:
        price = estimator.catalog.get(model)
        factor = estimator.premium(price, language) if price is not None else 1.0
        factor = factor if factor > 0 else 1.0
        row = PremiumPaid(requests, prompt_tokens, prompt_tokens / factor, nanos / 1e9,
                          nanos / 1e9 / factor)
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
