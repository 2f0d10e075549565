"""Upstream faults injected through the simulator: each yields a fallback or the right error."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.gateway.conftest import GatewayFactory, RunningGateway, sim_config
from tests.gateway.test_error_shapes import assert_error, post

MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]
NO_FALLBACK = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def test_500_is_retried_then_answered(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault(NO_FALLBACK, "http_500", count=1)
    r = post(gateway, {"model": NO_FALLBACK, "messages": MESSAGES})
    assert r.status_code == 200
    assert sim.control.requests(NO_FALLBACK) == 2


def test_persistent_500_falls_back_to_next_model(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault("gpt-4o-mini", "http_500", count=5)
    r = post(gateway, {"model": "gpt-4o-mini", "messages": MESSAGES})
    assert r.status_code == 200
    assert r.headers["x-costroute-model"] == "gpt-4o"


def test_persistent_500_without_fallback_is_502(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault(NO_FALLBACK, "http_500", count=5)
    assert_error(post(gateway, {"model": NO_FALLBACK, "messages": MESSAGES}), 502,
                 "upstream_error")


def test_429_retry_after_is_honoured(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault(NO_FALLBACK, "http_429", count=1, retry_after=0.1)
    r = post(gateway, {"model": NO_FALLBACK, "messages": MESSAGES})
    assert r.status_code == 200
    assert sim.control.requests(NO_FALLBACK) == 2


def test_429_that_persists_is_429_with_retry_after(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault(NO_FALLBACK, "http_429", count=5, retry_after=1)
    r = post(gateway, {"model": NO_FALLBACK, "messages": MESSAGES})
    assert_error(r, 429, "rate_limit_exceeded")
    assert int(r.headers["retry-after"]) >= 1


def test_timeout_is_504(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    config = sim_config(sim)
    config["models"][2]["upstream"]["timeout"] = {"first_byte_s": 0.5, "total_s": 1.0}
    gw = gateway_factory(config)
    sim.control.inject_fault(NO_FALLBACK, "timeout", count=5, delay_s=3)
    assert_error(post(gw, {"model": NO_FALLBACK, "messages": MESSAGES}), 504, "upstream_timeout")


def test_connection_reset_falls_back(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault("gpt-4o-mini", "reset", count=5)
    r = post(gateway, {"model": "gpt-4o-mini", "messages": MESSAGES})
    assert r.status_code == 200
    assert r.headers["x-costroute-model"] == "gpt-4o"


def test_connection_reset_without_fallback_is_502(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault(NO_FALLBACK, "reset", count=5)
    assert_error(post(gateway, {"model": NO_FALLBACK, "messages": MESSAGES}), 502)


@pytest.mark.parametrize("kind", ["malformed_sse", "truncated_sse"])
def test_broken_stream_ends_with_error_event(gateway: RunningGateway, sim, kind: str) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault(NO_FALLBACK, kind, count=1, after_chunks=2)
    with httpx.stream("POST", f"{gateway.base_url}/chat/completions", timeout=60,
                      headers={"authorization": f"Bearer {gateway.key}"},
                      json={"model": NO_FALLBACK, "messages": MESSAGES, "stream": True}) as r:
        assert r.status_code == 200
        text = r.read().decode()
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert '"error"' in events[-1]
    assert "[DONE]" not in events
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    sim.control.inject_fault(NO_FALLBACK, kind, count=1, after_chunks=2)
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model=NO_FALLBACK, messages=MESSAGES,  # type: ignore[arg-type]
                                            stream=True))


def test_stream_500_before_first_byte_falls_back(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault("gpt-4o-mini", "http_500", count=5)
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    response = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    assert response.headers["x-costroute-model"] == "gpt-4o"
    assert list(response.parse())


@pytest.mark.parametrize("shape", ["nested", "flat", "unauthorized"])
def test_vllm_error_bodies_are_normalised(gateway: RunningGateway, sim, shape: str) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault(NO_FALLBACK, "vllm_error", count=5, vllm_shape=shape)
    r = post(gateway, {"model": NO_FALLBACK, "messages": MESSAGES})
    assert r.status_code in (400, 502)
    error = assert_error(r, r.status_code)
    assert isinstance(error["code"], (str, type(None)))
    assert error["message"]


def test_cooldown_skips_a_failing_model(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    config = sim_config(sim, retry={"max_attempts": 1, "backoff_base_s": 0.0,
                                    "failures_before_cooldown": 2, "cooldown_s": 60})
    gw = gateway_factory(config)
    sim.control.inject_fault("gpt-4o-mini", "http_500", count=2)
    for _ in range(2):
        assert post(gw, {"model": "gpt-4o-mini", "messages": MESSAGES}).status_code == 200
    before = sim.control.requests("gpt-4o-mini")
    r = post(gw, {"model": "gpt-4o-mini", "messages": MESSAGES})
    assert r.headers["x-costroute-model"] == "gpt-4o"
    assert sim.control.requests("gpt-4o-mini") == before  # benched: not even tried
