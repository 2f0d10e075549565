"""What routed traffic would have cost on the strongest model of its pool and on the model the
client named, beside the quality evidence there is for each model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.console.views import final_stages
from gateway.ledger.base import SettledEntry, from_nanos
from gateway.records.base import Outcome
from pricing import PriceCatalog, Usage, cost_usd

METHOD = ("Each answered request's billed tokens (its final stage's, for a multi-stage route) "
          "priced at the other model's per-token rates. The other model's tokenizer would count "
          "the same text differently, so this is an estimate, not a bill.")


PASSTHROUGH = "passthrough"


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What the savings of one route are measured against."""

    pool: Sequence[str]
    quality: Mapping[str, float]  # gateway.yaml `quality:` priors, by model


def strongest(facts: RouteFacts, catalog: PriceCatalog) -> str | None:
    """The pool's best model by its quality prior, else its dearest by output price."""
    priced = [m for m in facts.pool if catalog.get(m) is not None]
    if not priced:
        return None
    return max(priced, key=lambda m: (facts.quality.get(m, -1.0),
                                      catalog[m].output_per_mtok, catalog[m].input_per_mtok))


def priced_on(catalog: PriceCatalog, model: str, entry: SettledEntry) -> float | None:
    price = catalog.get(model)
    if price is None:
        return None
    return cost_usd(price, Usage(entry.record.prompt_tokens, entry.record.completion_tokens))


def savings(entries: Sequence[SettledEntry], routes: Mapping[str, RouteFacts],
            catalog: PriceCatalog, outcomes: Sequence[Outcome] | None) -> dict[str, Any]:
    """Per routed route: actual USD, the two counterfactuals, and the quality evidence."""
    by_route: dict[str, list[SettledEntry]] = defaultdict(list)
    for entry in entries:
        if entry.record.route in routes or entry.record.route == PASSTHROUGH:
            by_route[entry.record.route].append(entry)
    observed = _observed_quality(outcomes or ())
    # Passthrough traffic has no pool; its named model differs from the answering one only
    # when a fallback answered.
    out = [_route_savings(route, rows, routes.get(route, RouteFacts((), {})), catalog,
                          observed.get(route, {}), outcomes is not None)
           for route, rows in sorted(by_route.items())]
    return {"unit": "USD over the range", "method": METHOD, "routes": out,
            "evidence_store": outcomes is not None}


def _route_savings(route: str, rows: Sequence[SettledEntry], facts: RouteFacts,
                   catalog: PriceCatalog, observed: Mapping[str, tuple[float, int]],
                   has_store: bool) -> dict[str, Any]:
    answered = final_stages(rows)
    best = strongest(facts, catalog)
    actual = sum(nanos for _, nanos in answered)
    on_best = sum(priced_on(catalog, best, e) or 0.0 for e, _ in answered) if best else None
    named = [(e, nanos, str(e.record.extra.get("requested_model") or ""))
             for e, nanos in answered]
    named = [(e, nanos, m) for e, nanos, m in named if m and catalog.get(m) is not None]
    quality = [{"model": m, "prior": facts.quality.get(m),
                "observed": observed[m][0] if m in observed else None,
                "labels": observed[m][1] if m in observed else 0} for m in facts.pool]
    return {
        "route": route, "requests": len(answered), "actual_usd": from_nanos(actual),
        "strongest_model": best, "strongest_usd": on_best,
        "named_requests": len(named),
        "named_actual_usd": from_nanos(sum(nanos for _, nanos, _ in named)),
        "named_usd": sum(priced_on(catalog, m, e) or 0.0 for e, _, m in named),
        "quality": quality,
        "note": _note(quality, has_store, len(named), len(answered)),
    }


def _note(quality: Sequence[Mapping[str, Any]], has_store: bool, named: int,
          requests: int) -> str:
    parts = []
    if not any(q["labels"] for q in quality):
        where = ("no judged outcomes or feedback were recorded for this route in this range"
                 if has_store else "this gateway keeps no records store, so no judged "
                 "outcomes or feedback exist")
        prior = ("the quality shown is gateway.yaml's prior per model, not measured on this "
                 "traffic" if any(q["prior"] is not None for q in quality)
                 else "there is no quality figure to show")
        parts.append(f"Quality evidence: {where}. The savings are cost only; {prior}.")
    if named < requests:
        parts.append(f"{requests - named} of {requests} requests named a route alias, not a "
                     "model: they have no client-named counterfactual.")
    return " ".join(parts)


def _observed_quality(outcomes: Sequence[Outcome]) -> dict[str, dict[str, tuple[float, int]]]:
    """Mean current score and label count, by route then model."""
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for outcome in outcomes:
        for model, score in outcome.scores.items():
            sums[outcome.route][model].append(score)
    return {route: {m: (sum(s) / len(s), len(s)) for m, s in models.items()}
            for route, models in sums.items()}
