"""Process faults while the gateway is under load: Redis dies, a replica is drained, a bad
tenants file lands. Each run checks the same things as the upstream faults (no hang,
OpenAI-shaped errors, recorded spend == reported cost, recovery without a restart), plus
that every reservation is settled or expires.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import yaml

from tests.gateway.hardening.loadgen import LoadRun, Outcome, summary
from tests.gateway.hardening.stack import (
    MODEL,
    RESERVATION_TTL_S,
    Stack,
    held_usd,
    tenant_entry,
    tenant_key,
)
from tests.gateway.hardening.test_upstream_faults_under_load import (
    check_outcomes,
    check_spend,
    mixed_bodies,
)
from tests.gateway.processes import write_tenants

# A connection the server never accepted: the request did not reach the gateway.
REFUSED = frozenset({"ConnectError"})


def wait_until_held_is_zero(stack: Stack, tenant: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (held := held_usd(stack.redis.url, tenant)) > 0:
        assert time.monotonic() < deadline, f"{tenant} still holds ${held:.6f}"
        time.sleep(0.5)


def requests_until_answered(stack: Stack, tenant: str, timeout_s: float = 20) -> list[Outcome]:
    """Small runs until one is answered in full: the recovery, and its (counted) costs."""
    deadline = time.monotonic() + timeout_s
    seen: list[Outcome] = []
    while True:
        batch = LoadRun(stack.gateway.base_url, tenant_key(tenant), mixed_bodies(),
                        requests=4, concurrency=2).start().join()
        seen += batch
        if summary(batch) == {"200": 4}:
            return seen
        assert time.monotonic() < deadline, f"not recovered: {dict(summary(batch))}"
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.redis
def test_redis_killed_and_restarted_under_load(stack: Stack) -> None:
    stack.sim.control.reset()
    run = LoadRun(stack.gateway.base_url, tenant_key("redis"), mixed_bodies(),
                  requests=200, concurrency=16).start()
    run.wait_for(40)
    stack.redis.kill()
    time.sleep(1.0)
    stack.restart_redis()
    outcomes = run.join()
    check_outcomes(outcomes, frozenset({"200", "503"}))
    assert summary(outcomes)["503"] > 0, "Redis was never seen down"
    assert {o.error["error"]["code"] for o in outcomes  # type: ignore[index]
            if o.status == 503} == {"budget_store_unavailable"}
    # Recovery also flushes the settlements queued while Redis was down.
    outcomes += requests_until_answered(stack, "redis")
    check_spend(stack, "redis", outcomes)
    # Holds whose release was lost with Redis expire with their TTL.
    wait_until_held_is_zero(stack, "redis", RESERVATION_TTL_S + 5)


@pytest.mark.slow
@pytest.mark.redis
def test_sigterm_drains_in_flight_requests_and_refuses_new_ones(stack: Stack) -> None:
    stack.sim.control.reset()
    replica = stack.another_gateway()
    try:
        # Every answer takes a second, so the first 16 are in flight when SIGTERM lands.
        stack.sim.control.inject_fault(MODEL, "slow", count=1000, delay_s=1.0)
        before = stack.sim.control.requests(MODEL)
        run = LoadRun(replica.base_url, tenant_key("drain"), mixed_bodies(), requests=64,
                      concurrency=16, fresh_connections=True).start()
        deadline = time.monotonic() + 30
        while stack.sim.control.requests(MODEL) - before < 16:
            assert time.monotonic() < deadline, "the load never got in flight"
            time.sleep(0.02)
        replica.signal(signal.SIGTERM)
        outcomes = run.join()
        assert replica.proc is not None
        # uvicorn re-raises SIGTERM once it has drained and run the shutdown hooks.
        assert replica.proc.wait(30) in (0, -signal.SIGTERM), replica.logs()[-2000:]
    finally:
        replica.kill()
        stack.sim.control.reset()
    kinds = summary(outcomes)
    check_outcomes(outcomes, frozenset({"200"}) | REFUSED)
    assert kinds["200"] >= 16, f"in-flight requests were dropped: {dict(kinds)}"
    assert sum(kinds[k] for k in REFUSED) > 0, f"nothing was refused: {dict(kinds)}"
    check_spend(stack, "drain", outcomes)
    assert held_usd(stack.redis.url, "drain") == 0  # settled before exit, not left to expire


@pytest.mark.slow
@pytest.mark.redis
def test_broken_tenants_file_under_load_keeps_serving_then_recovers(stack: Stack) -> None:
    stack.sim.control.reset()
    good = stack.tenants_path.read_text()
    run = LoadRun(stack.gateway.base_url, tenant_key("reload"), mixed_bodies(), requests=200,
                  concurrency=8).start()
    run.wait_for(20)
    broken = stack.tenants_path.with_name("tenants.broken.yaml")
    broken.write_text("tenants:\n  - name: reload\n    key_sha256: [not-a-hash\n")
    os.replace(broken, stack.tenants_path)
    deadline = time.monotonic() + 15
    while "tenants file rejected" not in stack.gateway.logs():
        assert time.monotonic() < deadline, "the broken tenants file was never read"
        time.sleep(0.2)
    outcomes = run.join()
    check_outcomes(outcomes, frozenset({"200"}))
    check_spend(stack, "reload", outcomes)
    # A good file is picked up again without a restart: a tenant added now can call.
    try:
        tenants = yaml.safe_load(good)["tenants"]
        write_tenants(stack.tenants_path, [*tenants, tenant_entry("reload-new")])
        requests_until_answered(stack, "reload-new", timeout_s=20)
    finally:
        stack.tenants_path.write_text(good)
