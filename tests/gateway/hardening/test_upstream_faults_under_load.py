"""Upstream faults while the gateway is under load (real processes: simulator, Redis, gateway).

For each fault, 200 requests (16 at a time, half of them streams with include_usage) go to a
model without fallbacks while the simulator fails some of them. After each run:
- no request hung: every one got an answer within the gateway's own timeout budget;
- every error is OpenAI-shaped (status errors and in-stream error events alike);
- the spend the gateway recorded equals the sum of the costs it reported to its clients;
- with the faults gone, the same gateway answers normally (no restart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.gateway.hardening.conftest import assert_error_shape
from tests.gateway.hardening.loadgen import BodyFor, LoadRun, Outcome, reported_cost, summary
from tests.gateway.hardening.stack import (
    MODEL,
    REQUEST_CEILING_S,
    Stack,
    recorded_spend,
    tenant_key,
)

REQUESTS = 200
CONCURRENCY = 16


def mixed_bodies(model: str = MODEL) -> BodyFor:
    """Even requests stream (asking for usage), odd ones do not."""

    def body(index: int) -> dict[str, Any]:
        out: dict[str, Any] = {"model": model, "max_tokens": 16, "messages": [
            {"role": "user", "content": f"Question {index}: what is {index} plus {index}?"}]}
        if index % 2 == 0:
            out.update(stream=True, stream_options={"include_usage": True})
        return out

    return body


@dataclass(frozen=True)
class UpstreamFault:
    """A simulator fault armed for `count` requests, and what clients may then see."""

    kind: str
    count: int
    params: dict[str, Any] = field(default_factory=dict)
    outcomes: frozenset[str] = frozenset({"200"})
    tenant: str = ""

    @property
    def name(self) -> str:
        return self.tenant or self.kind


FAULTS = [
    UpstreamFault("slow", 64, {"delay_s": 0.5}),
    UpstreamFault("slow", 8, {"delay_s": 4.0}, frozenset({"200", "504"}),
                  tenant="slow_past_timeout"),
    UpstreamFault("stall", 8, {"delay_s": 4.0, "after_chunks": 2},
                  frozenset({"200", "200+stream_error", "504"})),
    UpstreamFault("http_500", 48, {}, frozenset({"200", "502"})),
    UpstreamFault("http_429", 48, {"retry_after": 0.1}, frozenset({"200", "429"})),
    UpstreamFault("reset", 48, {}, frozenset({"200", "502"})),
    UpstreamFault("truncated_sse", 48, {"after_chunks": 2},
                  frozenset({"200", "200+stream_error", "502"})),
    UpstreamFault("malformed_sse", 48, {"after_chunks": 2},
                  frozenset({"200", "200+stream_error", "502"})),
]


def check_outcomes(outcomes: list[Outcome], allowed: frozenset[str]) -> None:
    """No hang, no transport failure, only allowed outcomes, every error OpenAI-shaped."""
    kinds = summary(outcomes)
    assert set(kinds) <= allowed, f"unexpected outcomes {dict(kinds)}; allowed {set(allowed)}"
    for outcome in outcomes:
        assert outcome.elapsed_s < REQUEST_CEILING_S, (outcome.index, outcome.elapsed_s)
        if outcome.error is not None:
            assert_error_shape(outcome.error)
        if outcome.status == 429:
            assert int(outcome.headers["retry-after"]) >= 1


def check_spend(stack: Stack, tenant: str, outcomes: list[Outcome]) -> None:
    recorded = recorded_spend(stack.gateway.base_url, tenant_key(tenant))
    assert recorded["cost_usd"] == pytest.approx(reported_cost(outcomes), rel=1e-6, abs=1e-6), (
        f"recorded {recorded} vs reported {reported_cost(outcomes)} over {dict(summary(outcomes))}")


def check_recovered(stack: Stack, tenant: str) -> list[Outcome]:
    """With the faults cleared, a short run is answered in full."""
    stack.sim.control.clear_faults()
    after = LoadRun(stack.gateway.base_url, tenant_key(tenant), mixed_bodies(),
                    requests=8, concurrency=4).start().join()
    assert summary(after) == {"200": 8}, summary(after)
    return after


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_upstream_fault_under_load(stack: Stack, fault: UpstreamFault) -> None:
    stack.sim.control.reset()
    stack.sim.control.inject_fault(MODEL, fault.kind, count=fault.count, **fault.params)
    run = LoadRun(stack.gateway.base_url, tenant_key(fault.name), mixed_bodies(),
                  requests=REQUESTS, concurrency=CONCURRENCY)
    outcomes = run.start().join()
    check_outcomes(outcomes, fault.outcomes)
    assert summary(outcomes)["200"] > 0
    outcomes += check_recovered(stack, fault.name)
    check_spend(stack, fault.name, outcomes)
