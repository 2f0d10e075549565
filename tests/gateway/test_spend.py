"""GET /v1/costroute/spend over a records database: totals equal the cost headers, the
filters, time ranges, the request listing, the lag, and errors in the OpenAI shape."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
import pytest

from tests.gateway.conftest import TEST_KEY, GatewayFactory, RunningGateway, sim_config
from tests.postgres_server import SKIP_REASON, PostgresServer, postgres_bin_dir

N = 24


def get_spend(gw: RunningGateway, **params: Any) -> httpx.Response:
    return httpx.get(f"{gw.base_url}/costroute/spend", params=params, timeout=30,
                     headers={"authorization": f"Bearer {TEST_KEY}"})


async def _send(gw: RunningGateway, n: int) -> list[float]:
    client = openai.AsyncOpenAI(base_url=gw.base_url, api_key=TEST_KEY, max_retries=0)

    async def one(i: int) -> float:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini" if i % 3 else "gpt-4o", max_tokens=16,
            messages=[{"role": "user", "content": f"Say a number bigger than {i}."}])
        return float(raw.headers["x-costroute-cost-usd"])

    try:
        return list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await client.close()


@pytest.fixture
def gw(sim, gateway_factory: GatewayFactory) -> RunningGateway:  # type: ignore[no-untyped-def]
    return gateway_factory(sim_config(sim))


def test_totals_equal_the_sum_of_cost_headers(gw: RunningGateway) -> None:
    costs = asyncio.run(_send(gw, N))
    report = get_spend(gw).json()
    assert report["source"] == "records"
    assert report["lag"]["pending"] == 0
    assert report["total"]["requests"] == N
    assert report["total"]["cost_usd"] == pytest.approx(sum(costs), abs=N * 1e-8)
    by_model = {r["model"]: r for r in get_spend(gw, by="model").json()["rows"]}
    assert set(by_model) == {"gpt-4o", "gpt-4o-mini"}
    assert by_model["gpt-4o"]["requests"] == N // 3
    assert sum(r["cost_usd"] for r in by_model.values()) == pytest.approx(
        report["total"]["cost_usd"], abs=1e-9)
    # Every request of the month window, once per period row.
    periods = get_spend(gw, by="period").json()["rows"]
    assert periods and all(r["requests"] == N for r in periods)
    purposes = get_spend(gw, by="purpose,language").json()
    assert {r["purpose"] for r in purposes["rows"]} == {"traffic"}
    assert get_spend(gw, model="gpt-4o").json()["total"]["requests"] == N // 3


def test_time_range_and_request_listing(gw: RunningGateway) -> None:
    asyncio.run(_send(gw, 6))
    middle = time.time()
    time.sleep(0.05)
    asyncio.run(_send(gw, 4))
    assert get_spend(gw, **{"from": middle}).json()["total"]["requests"] == 4
    assert get_spend(gw, to=middle).json()["total"]["requests"] == 6
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(middle + 3600))
    assert get_spend(gw, **{"from": iso}).json()["total"]["requests"] == 0
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert get_spend(gw, **{"from": today, "to": today}).json()["total"]["requests"] == 10
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"list": "requests", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = get_spend(gw, **params).json()
        assert page["requests_from"] is None  # nothing was purged
        seen += [r["request_id"] for r in page["requests"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 10


def test_the_listing_names_the_clients_own_id_and_what_was_held(gw: RunningGateway) -> None:
    # A client whose connection is cut never sees our x-request-id: it finds its request by
    # the id it sent (issue 17's many-replicas accounting).
    httpx.post(f"{gw.base_url}/chat/completions", timeout=30,
               headers={"authorization": f"Bearer {TEST_KEY}", "x-client-request-id": "mine-1"},
               json={"model": "gpt-4o-mini", "max_tokens": 16,
                     "messages": [{"role": "user", "content": "Hi."}]}).raise_for_status()
    asyncio.run(_send(gw, 1))
    rows = get_spend(gw, list="requests").json()["requests"]
    assert sorted(str(r["client_request_id"]) for r in rows) == ["None", "mine-1"]
    assert all(0 < r["cost_usd"] <= r["held_usd"] for r in rows), [
        (r["cost_usd"], r["held_usd"]) for r in rows]


@pytest.mark.parametrize("params, param", [
    ({"by": "colour"}, "by"), ({"from": "yesterday"}, "from"), ({"limit": "0"}, "limit"),
    ({"cursor": "%%%"}, "cursor"), ({"purpose": "fun"}, "purpose"), ({"list": "models"}, "list"),
    ({"from": "2026-12-02", "to": "2026-12-01"}, "to"), ({"from": "inf"}, "from"),
    ({"to": "nan"}, "to"), ({"from": "1e300"}, "from"), ({"limit": "x"}, "limit"),
    ({"from": "0001-01-01"}, "from"),
])
def test_bad_parameters_are_400_in_the_openai_shape(
        gw: RunningGateway, params: dict[str, str], param: str) -> None:
    r = get_spend(gw, **params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["param"] == param


def test_without_records_the_ledger_answers(
        sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_factory(sim_config(sim, records={"kind": "none"}))
    costs = asyncio.run(_send(gw, 5))
    report = get_spend(gw, by="model,purpose").json()
    assert report["source"] == "ledger" and report["lag"] is None
    assert report["total"]["cost_usd"] == pytest.approx(sum(costs), abs=5e-8)
    assert get_spend(gw, model="gpt-4o").json()["total"]["requests"] == 2


@pytest.mark.postgres
def test_database_down_the_api_says_what_waits_then_catches_up(
        sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    pg = PostgresServer(bin_dir)
    pg.start()
    try:
        gw = gateway_factory(sim_config(sim, records={"kind": "postgres",
                                                      "url": pg.create_database()}))
        before = asyncio.run(_send(gw, 4))
        assert get_spend(gw).json()["total"]["requests"] == 4
        pg.kill()
        during = asyncio.run(_send(gw, 5))  # answers and budgets go on without the database
        down = get_spend(gw)
        assert down.status_code == 503, down.text
        error = down.json()["error"]
        assert error["code"] == "records_store_unavailable"
        assert "5 settled entries wait" in error["message"]
        pg.start()
        report = get_spend(gw).json()
        assert report["lag"]["pending"] == 0
        assert report["total"]["requests"] == 9
        assert report["total"]["cost_usd"] == pytest.approx(sum(before + during), abs=9e-8)
    finally:
        pg.remove()
