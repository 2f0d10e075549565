"""Exploration: within its rate (a seeded binomial bound) and its cost caps; says so."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import httpx
import openai

from gateway.context import RequestContext
from gateway.learning.explore import Explorer, beta_posteriors
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import TenantConfig
from routers.base import Decision, Policy, RouteRequest
from tests.gateway.learning.conftest import KEY, learning_config, learning_tenant
from tests.gateway.learning.harness import serve_learning, wait_for
from tests.gateway.learning.knn_fixture import candidate, knn_router

REQUEST = RouteRequest([{"role": "user", "content": "Name three primary colours."}])
POLICY = Policy()
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def tenant(rate: float, ratio: float = 10.0, per_request: float | None = None) -> TenantConfig:
    return TenantConfig.model_validate({
        "name": "acme", "max_cost_per_request_usd": per_request,
        "learning": {"explore_rate": rate, "explore_max_cost_ratio": ratio}})


def run(explorer: Explorer, who: TenantConfig, router: object, cands: list, n: int,
        greedy: str = "cheap") -> tuple[list[Decision], int]:
    decision = Decision(greedy, "greedy", 1e-4)

    async def go() -> tuple[list[Decision], int]:
        out, flagged = [], 0
        for i in range(n):
            ctx = RequestContext(f"r{i}", who)
            out.append(await explorer.revise(ctx, router, REQUEST, cands, POLICY, decision))
            flagged += bool(ctx.log.get("explored"))
        return out, flagged

    return asyncio.run(go())


def test_rate_and_cost_cap_hold_for_a_non_knn_router() -> None:
    cands = [candidate("cheap", 1e-4), candidate("mid", 5e-4), candidate("dear", 5e-3)]
    n, rate = 4000, 0.1
    decisions, flagged = run(Explorer(seed=7), tenant(rate, ratio=10.0), object(), cands, n)
    explored = [d for d in decisions if d.model != "cheap"]
    sigma = math.sqrt(rate * (1 - rate) / n)
    assert abs(len(explored) / n - rate) < 5 * sigma
    assert flagged == len(explored)
    assert {d.model for d in explored} == {"mid"}  # "dear" costs 50x the greedy pick
    assert all(d.reason == "explore uniform mid (greedy cheap)" for d in explored)


def test_per_request_cap_excludes_what_the_tenant_could_not_afford() -> None:
    cands = [candidate("cheap", 1e-4), candidate("mid", 5e-4, max_cost=3e-3)]
    decisions, flagged = run(Explorer(seed=1), tenant(1.0, per_request=1e-3), object(),
                             cands, 50)
    assert flagged == 0 and {d.model for d in decisions} == {"cheap"}


def test_zero_rate_never_explores() -> None:
    cands = [candidate("cheap", 1e-4), candidate("mid", 2e-4)]
    _, flagged = run(Explorer(seed=1), tenant(0.0), object(), cands, 200)
    assert flagged == 0


def test_thompson_on_knn_prefers_the_better_posterior() -> None:
    router = knn_router()
    posteriors = dict(zip(["strong", "odd"],
                          beta_posteriors(router, REQUEST, ["strong", "odd"]), strict=True))
    assert posteriors["strong"][0] > posteriors["odd"][0]  # neighbours voted for strong
    cands = [candidate("cheap", 1e-4), candidate("strong", 5e-4), candidate("odd", 2e-4)]
    decisions, flagged = run(Explorer(seed=3), tenant(1.0), router, cands, 300)
    picked = Counter(d.model for d in decisions)
    assert flagged == 300 and "cheap" not in picked
    assert picked["strong"] > picked["odd"]
    assert all(d.reason.startswith("explore thompson ") for d in decisions)


def test_reason_header_says_explore_and_the_record_is_marked(sim: SimulatorHandle) -> None:
    who = learning_tenant(shadow_rate=0.0, explore_rate=1.0)
    with serve_learning(learning_config(sim), [who]) as served:
        client = openai.OpenAI(base_url=served.base_url, api_key=KEY, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "hello"}])
        route = raw.headers["x-costroute-route"]
        assert route.startswith("auto: explore uniform ")
        assert raw.headers["x-costroute-model"] in route
        wait_for(lambda: len(served.sink.requests) == 1)
        assert served.sink.requests[0].explored


def test_explored_decisions_are_counted_per_route_decided(sim: SimulatorHandle) -> None:
    """`costroute_learning_explored_total` is labelled with the alias being routed, not
    `passthrough` (ctx.route is set only after the plan is made; smoke run)."""
    config = learning_config(sim)
    config["routes"]["router:cheapest"] = {"router": "cheapest",
                                           "models": ["gpt-4o-mini", MIXTRAL]}
    who = learning_tenant(shadow_rate=0.0, explore_rate=1.0)
    with serve_learning(config, [who]) as served:
        client = openai.OpenAI(base_url=served.base_url, api_key=KEY, max_retries=0)
        for model in ["auto", "auto", "auto", "router:cheapest", "router:cheapest", "gpt-4o"]:
            raw = client.chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": "hello"}])
            assert raw.parse().choices[0].message.content
        metrics = httpx.get(f"{served.root_url}/metrics", timeout=10).text
    explored = sorted(line for line in metrics.splitlines()
                      if line.startswith("costroute_learning_explored_total"))
    assert explored == ['costroute_learning_explored_total{route="auto"} 3.0',
                        'costroute_learning_explored_total{route="router:cheapest"} 2.0']


def test_without_the_route_the_routers_kind_labels_the_count() -> None:
    from gateway.learning.metrics import LearningMetrics

    metrics = LearningMetrics()
    cands = [candidate("cheap", 1e-4), candidate("mid", 2e-4)]
    router = knn_router()
    ctx = RequestContext("r1", tenant(1.0))
    decision = Decision("cheap", "greedy", 1e-4)
    asyncio.run(Explorer(metrics, seed=1).revise(ctx, router, REQUEST, cands, POLICY, decision))
    asyncio.run(Explorer(metrics, seed=1).revise(ctx, router, REQUEST, cands, POLICY, decision,
                                                 route="router:knn"))
    assert metrics.explored.labels(router.name)._value.get() == 1
    assert metrics.explored.labels("router:knn")._value.get() == 1
