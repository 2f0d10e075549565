"""The console's figures, computed from settled entries: pure functions, JSON-ready output.

Every money figure is summed in integer nano-dollars (as the ledger stores it) and turned into
USD once, so a total here equals the spend API's total for the same entries.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from gateway.console.history import base_request_id, purpose
from gateway.ledger.base import SettledEntry, from_nanos
from gateway.ledger.report import DayRange, total

SERIES_DIMENSIONS: dict[str, Callable[[SettledEntry], str]] = {
    "model": lambda e: e.record.model,
    "route": lambda e: e.record.route,
    "tier": lambda e: e.record.tier,
    "purpose": purpose,
    "language": lambda e: e.record.language or "und",
}
TOP_REASONS = 8


def totals(entries: Sequence[SettledEntry]) -> dict[str, Any]:
    """Requests, tokens and USD of `entries`, computed as the spend API computes its total."""
    row = total(entries)
    return {"requests": row.requests, "cost_usd": row.cost_usd,
            "prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens,
            "cache_hits": sum(1 for e in entries if e.record.cache_hit)}


def day_of(entry: SettledEntry) -> str:
    return entry.settled_at[:10]


def series(entries: Sequence[SettledEntry], days: DayRange, by: str) -> dict[str, Any]:
    """USD and requests per UTC day for each value of dimension `by` (see SERIES_DIMENSIONS)."""
    key_of = SERIES_DIMENSIONS[by]
    labels = days.days()
    index = {day: i for i, day in enumerate(labels)}
    nanos: dict[str, list[int]] = defaultdict(lambda: [0] * len(labels))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(labels))
    for entry in entries:
        i = index.get(day_of(entry))
        if i is None:
            continue
        key = key_of(entry)
        nanos[key][i] += entry.actual_nanos
        counts[key][i] += 1
    keys = sorted(nanos, key=lambda k: -sum(nanos[k]))
    return {
        "by": by, "days": labels, "unit": "USD per UTC day",
        "series": [{"key": k, "cost_usd": [from_nanos(n) for n in nanos[k]],
                    "requests": counts[k], "total_usd": from_nanos(sum(nanos[k]))}
                   for k in keys],
        "totals": totals([e for e in entries if day_of(e) in index]),
    }


def _reason_kind(reason: str) -> str:
    """A reason with its figures masked, so that reasons of one kind count together."""
    # Standalone figures only: the digits inside a model name (gpt-4o) stay.
    text = re.sub(r"(?<![\w.-])\$?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w-])", "#",
                  reason or "(none recorded)")
    return text[:120]


def routing(entries: Sequence[SettledEntry], days: DayRange) -> dict[str, Any]:
    """Per route: its decision mix per day, its top reasons, and its escalation rate."""
    by_route: dict[str, list[SettledEntry]] = defaultdict(list)
    for entry in entries:
        by_route[entry.record.route].append(entry)
    routes = []
    for route, rows in sorted(by_route.items()):
        requests = _requests(rows)
        # The mix counts client requests by the model that answered (a cascade's last stage).
        mix = series([stages[-1] for stages in requests.values()], days, "model")
        reasons = Counter(_reason_kind(str(stages[0].record.extra.get("reason", "")))
                          for stages in requests.values())
        staged = [stages for stages in requests.values()
                  if any(s.record.extra.get("stage") is not None for s in stages)]
        escalated = sum(1 for stages in staged if len(stages) > 1)
        routes.append({
            "route": route,
            "requests": len(requests),
            "decisions": [{"key": s["key"], "requests": s["requests"]} for s in mix["series"]],
            "days": mix["days"],
            "top_reasons": [{"reason": r, "requests": n}
                            for r, n in reasons.most_common(TOP_REASONS)],
            "multi_stage": len(staged),
            "escalated": escalated,
            "escalation_rate": escalated / len(staged) if staged else None,
        })
    return {"unit": "requests per UTC day", "routes": routes}


def _requests(rows: Sequence[SettledEntry]) -> dict[str, list[SettledEntry]]:
    """Entries grouped by the client's request (one per stage of a multi-stage route)."""
    grouped: dict[str, list[SettledEntry]] = defaultdict(list)
    for entry in rows:
        grouped[base_request_id(entry)].append(entry)
    for stages in grouped.values():
        stages.sort(key=lambda e: int(e.record.extra.get("stage") or 0))
    return grouped


def final_stages(rows: Sequence[SettledEntry]) -> list[tuple[SettledEntry, int]]:
    """Each client request's answering entry, and the USD nanos of all its stages."""
    return [(stages[-1], sum(s.actual_nanos for s in stages))
            for stages in _requests(rows).values()]
