"""Savings and routing figures from hand-made entries (fast unit tests of the pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.console.savings import RouteFacts, savings, strongest
from gateway.console.views import routing
from gateway.ledger.base import SettledEntry, SpendRecord, to_nanos
from gateway.ledger.report import DayRange
from gateway.records.base import Outcome
from pricing import PriceCatalog

DAY = DayRange(date(2026, 12, 1), date(2026, 12, 2))
FACTS = {"auto": RouteFacts(["gpt-4o-mini", "gpt-4o"], {"gpt-4o-mini": 0.8, "gpt-4o": 0.9})}


def entry(request_id: str, model: str, cost: float, stage: int | None = None,
          reason: str = "table: pick", requested: str = "auto") -> SettledEntry:
    extra: dict[str, object] = {"reason": reason, "requested_model": requested}
    if stage is not None:
        extra["stage"] = stage
    record = SpendRecord("t", request_id, model, "auto", cost, 1000, 500, "eng", extra=extra)
    return SettledEntry(record, "2026-12-01T10:00:00+00:00", (), to_nanos(cost))


def test_the_strongest_model_is_the_best_prior_and_prices_the_same_tokens() -> None:
    catalog = PriceCatalog.shipped()
    assert strongest(FACTS["auto"], catalog) == "gpt-4o"
    out = savings([entry("r1", "gpt-4o-mini", 0.001)], FACTS, catalog, None)
    (route,) = out["routes"]
    price = catalog["gpt-4o"]
    expected = (1000 * price.input_per_mtok + 500 * price.output_per_mtok) / 1e6
    assert route["strongest_usd"] == pytest.approx(expected)
    assert route["actual_usd"] == pytest.approx(0.001)
    assert "no records store" in route["note"]


def test_observed_labels_are_shown_and_the_note_then_only_covers_named_models() -> None:
    outcomes = [Outcome("r1", "t", 0.0, "auto", "p", {"gpt-4o-mini": 1.0, "gpt-4o": 1.0}, {}),
                Outcome("r2", "t", 0.0, "auto", "p", {"gpt-4o-mini": 0.0}, {})]
    out = savings([entry("r1", "gpt-4o-mini", 0.001)], FACTS, PriceCatalog.shipped(), outcomes)
    quality = {q["model"]: q for q in out["routes"][0]["quality"]}
    assert (quality["gpt-4o-mini"]["observed"], quality["gpt-4o-mini"]["labels"]) == (0.5, 2)
    assert "Quality evidence" not in out["routes"][0]["note"]


def test_a_cascade_counts_once_per_request_and_escalations_by_stage() -> None:
    rows = [entry("a:1", "gpt-4o-mini", 0.001, stage=1, reason="cascade"),
            entry("a:2", "gpt-4o", 0.01, stage=2, reason="cascade"),
            entry("b:1", "gpt-4o-mini", 0.001, stage=1, reason="cascade")]
    (route,) = routing(rows, DAY)["routes"]
    assert (route["requests"], route["multi_stage"], route["escalated"]) == (2, 2, 1)
    assert {d["key"]: sum(d["requests"]) for d in route["decisions"]} == {
        "gpt-4o": 1, "gpt-4o-mini": 1}
    (saved,) = savings(rows, FACTS, PriceCatalog.shipped(), None)["routes"]
    assert saved["requests"] == 2 and saved["actual_usd"] == pytest.approx(0.012)


def test_reasons_group_with_their_figures_masked_but_model_names_kept() -> None:
    rows = [entry("r1", "gpt-4o", 0.001, reason="table: gpt-4o q=0.91 cost $0.0012"),
            entry("r2", "gpt-4o", 0.001, reason="table: gpt-4o q=0.87 cost $0.0009")]
    (route,) = routing(rows, DAY)["routes"]
    assert route["top_reasons"] == [{"reason": "table: gpt-4o q=# cost #", "requests": 2}]


@pytest.mark.parametrize(("first", "last"), [("2026-12-02", "2026-12-01"), ("12/01/2026", "x"),
                                             ("2020-01-01", "2026-01-01")])
def test_a_bad_day_range_says_what_is_wrong(first: str, last: str) -> None:
    with pytest.raises(ValueError, match=r"after|YYYY-MM-DD|at most"):
        DayRange.parse(first, last)
