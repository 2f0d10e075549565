"""The console's JSON endpoints over loopback: figures, ranges, isolation and error shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.gateway.console.conftest import (
    DEMO_ROUTE,
    HISTORY_DAYS,
    KEY_A,
    KEY_ADMIN,
    KEY_B,
    Console,
)


def _range(days: int = 30) -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}


@pytest.mark.parametrize("by", ["model", "route", "tier", "purpose", "language"])
def test_series_totals_equal_the_spend_api_for_the_same_range(console: Console, by: str) -> None:
    days = _range(10)
    series = console.get("/v1/costroute/console/series", KEY_A, by=by, **days).json()
    spend = console.get("/v1/costroute/spend", KEY_A, **days).json()
    assert series["totals"]["cost_usd"] == spend["total"]["cost_usd"]
    assert series["totals"]["requests"] == spend["total"]["requests"]
    assert sum(s["total_usd"] for s in series["series"]) == pytest.approx(
        spend["total"]["cost_usd"], rel=1e-12)
    assert len(series["days"]) == 10


def test_a_range_keeps_only_its_days(console: Console) -> None:
    everything = console.get("/v1/costroute/spend", KEY_A).json()["total"]["requests"]
    today = console.get("/v1/costroute/spend", KEY_A, **_range(1)).json()["total"]["requests"]
    window = console.get("/v1/costroute/spend", KEY_A, **_range(HISTORY_DAYS + 1)).json()
    assert 0 < today < window["total"]["requests"] == everything


def test_purpose_separates_learning_calls_from_traffic(console: Console) -> None:
    series = console.get("/v1/costroute/console/series", KEY_A, by="purpose", **_range()).json()
    assert {s["key"] for s in series["series"]} == {"traffic", "learning"}


def test_the_console_and_the_spend_api_read_the_same_place(console: Console) -> None:
    spend = console.get("/v1/costroute/spend", KEY_A, by="purpose", **_range()).json()
    assert spend["source"] == ("records" if console.records == "sqlite" else "ledger")
    # learning calls keep their purpose in the database's purpose column too
    purposes = {r["purpose"]: r["requests"] for r in spend["rows"]}
    series = console.get("/v1/costroute/console/series", KEY_A, by="purpose", **_range()).json()
    assert purposes == {s["key"]: sum(s["requests"]) for s in series["series"]}
    assert purposes["learning"] > 0


def test_a_tenant_sees_only_its_own_figures(console: Console) -> None:
    b = console.get("/v1/costroute/console/series", KEY_B, by="model", **_range()).json()
    assert {s["key"] for s in b["series"]} <= {"mistralai/Mixtral-8x7B-Instruct-v0.1",
                                               "gpt-4o-mini"}
    denied = console.get("/v1/costroute/console/series", KEY_B, tenant="tenant-a")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "admin_required"


def test_an_admin_may_switch_tenants_and_see_all(console: Console) -> None:
    session = console.get("/v1/costroute/console/session", KEY_ADMIN).json()
    assert session["admin"] and set(session["tenants"]) == {"tenant-a", "tenant-b", "ops"}
    days = _range()
    a = console.get("/v1/costroute/console/series", KEY_ADMIN, tenant="tenant-a", **days).json()
    own = console.get("/v1/costroute/console/series", KEY_A, **days).json()
    assert a["totals"] == own["totals"]
    b = console.get("/v1/costroute/console/series", KEY_B, **days).json()
    both = console.get("/v1/costroute/console/series", KEY_ADMIN, tenant="*", **days).json()
    assert both["totals"]["requests"] == a["totals"]["requests"] + b["totals"]["requests"]
    missing = console.get("/v1/costroute/console/overview", KEY_ADMIN, tenant="nobody")
    assert missing.status_code == 404 and "error" in missing.json()


def test_overview_shows_budgets_pacing_and_errors(console: Console) -> None:
    o = console.get("/v1/costroute/console/overview", KEY_A).json()
    names = {b["name"] for b in o["budgets"]}
    assert len(names) == 2
    monthly = next(b for b in o["budgets"] if b["limit_usd"] == 1.0)
    assert monthly["spent_usd"] == pytest.approx(o["month"]["cost_usd"], abs=1e-9)
    assert 0 < monthly["elapsed_fraction"] <= 1
    assert monthly["projected_usd"] >= monthly["spent_usd"]
    assert o["errors"]["total"] >= 1
    assert o["today"]["requests"] >= 8
    assert len(o["month_curve"]["cumulative_usd"]) == datetime.now(UTC).day


def test_routing_reports_the_cascade_escalation_rate(console: Console) -> None:
    routing = console.get("/v1/costroute/console/routing", KEY_A, **_range()).json()
    cascade = next(r for r in routing["routes"] if r["route"] == "router:cascade")
    assert (cascade["multi_stage"], cascade["escalated"]) == (2, 1)
    assert cascade["escalation_rate"] == 0.5
    auto = next(r for r in routing["routes"] if r["route"] == "auto")
    assert auto["top_reasons"] and auto["decisions"]


def test_savings_price_the_same_traffic_on_the_strongest_and_named_models(
        console: Console) -> None:
    savings = console.get("/v1/costroute/console/savings", KEY_A, **_range()).json()
    auto = next(r for r in savings["routes"] if r["route"] == "auto")
    assert auto["strongest_model"] == "gpt-4o"  # the highest quality prior in the pool
    assert auto["strongest_usd"] >= auto["actual_usd"] > 0
    assert auto["named_requests"] == 0  # clients named the alias `auto`, not a model
    assert "no judged outcomes or feedback were recorded" in auto["note"]
    passthrough = next(r for r in savings["routes"] if r["route"] == "passthrough")
    assert passthrough["strongest_model"] is None  # no pool to be strongest in
    assert passthrough["named_requests"] == passthrough["requests"] > 0


def test_languages_and_learning_answer(console: Console) -> None:
    languages = console.get("/v1/costroute/console/languages", KEY_A, **_range()).json()
    rows = {x["language"]: x for x in languages["languages"]}
    assert {"eng", "fra", "jpn"} <= set(rows)
    assert rows["jpn"]["premium_usd"] > 0 and rows["jpn"]["english_equivalent_usd"] < rows["jpn"]["cost_usd"]
    learning = console.get("/v1/costroute/console/learning", KEY_A).json()
    assert learning["available"] is True and learning["requests"] > 0  # captured traffic
    assert learning["labels_by_model"] == {}  # nothing judged or rated yet


@pytest.mark.parametrize("params", [{"from": "2026-13-01", "to": "2026-12-01"},
                                    {"from": "2026-12-05", "to": "2026-12-01"},
                                    {"by": "colour"}])
def test_bad_parameters_get_a_400_in_the_openai_shape(console: Console,
                                                       params: dict[str, str]) -> None:
    r = console.get("/v1/costroute/console/series", KEY_A, **params)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_the_console_needs_a_key(console: Console) -> None:
    r = console.get("/v1/costroute/console/overview", "cr-wrong")
    assert r.status_code == 401 and "error" in r.json()


# One-sided ranges are open-ended (tests/gateway/test_spend.py); a bad or reversed one is a 400.
@pytest.mark.parametrize("params", [{"from": "2026-12-05", "to": "2026-12-01"}, {"to": "soon"},
                                    {"from": "yesterday", "to": "2026-12-01"}])
def test_the_spend_api_wants_a_valid_range(console: Console,
                                                 params: dict[str, str]) -> None:
    r = console.get("/v1/costroute/spend", KEY_A, **params)
    assert r.status_code == 400
    assert r.json()["error"]["param"] in {"from", "to"}


def test_an_admin_sees_the_artifact_versions_and_what_serves(console: Console) -> None:
    admin = console.get("/v1/costroute/console/learning", KEY_ADMIN).json()["artifacts"]
    assert [v["id"] for v in admin["versions"]] == ["v0001-knn", "v0002-knn"]
    assert admin["versions"][1]["metrics"] == {"aiq": 0.68, "accuracy": pytest.approx(0.78)}
    assert admin["versions"][1]["parent"] == "v0001-knn"
    assert admin["serving"] == {DEMO_ROUTE: "v0002-knn"}
    # The cascade serves the artifact its config names: the page says which, not "nothing".
    assert set(admin["configured"]) == {"router:cascade"}
    assert console.get("/v1/costroute/console/learning", KEY_A).json()["artifacts"] is None


def test_the_console_page_answers_get_and_head_with_its_security_headers(
        console: Console) -> None:
    for method in ("GET", "HEAD"):
        page = httpx.request(method, f"{console.root}/ui/", timeout=30)
        assert page.status_code == 200, method
        assert "default-src" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
    assert httpx.head(f"{console.root}/ui", timeout=30).status_code == 307
