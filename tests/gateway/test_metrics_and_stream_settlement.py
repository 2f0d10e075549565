"""Prometheus metrics, and streams settled on their actual usage."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.gateway.conftest import RunningGateway

MESSAGES = [{"role": "user", "content": "Tell me about the moon."}]


def test_stream_cost_rides_on_usage_chunk_and_matches_ledger(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True}))
    note = chunks[-1].model_extra["x_costroute"]  # type: ignore[index]
    assert note["cost_usd"] > 0 and note["model"] == "gpt-4o-mini"
    report = httpx.get(f"{gateway.base_url}/costroute/spend", timeout=30,
                       headers={"authorization": f"Bearer {gateway.key}"}).json()
    assert report["total"]["requests"] == 1
    assert report["total"]["cost_usd"] == pytest.approx(note["cost_usd"], abs=1e-9)


def test_stream_without_usage_request_is_still_settled(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,  # type: ignore[arg-type]
                                        stream=True))
    report = httpx.get(f"{gateway.base_url}/costroute/spend", timeout=30,
                       headers={"authorization": f"Bearer {gateway.key}"}).json()
    assert report["total"]["requests"] == 1 and report["total"]["completion_tokens"] > 0


def test_metrics_export_requests_latency_tokens_and_cost(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=MESSAGES)  # type: ignore[arg-type]
    text = httpx.get(f"{gateway.root_url}/metrics", timeout=30).text
    for name in ("costroute_requests_total", "costroute_errors_total",
                 "costroute_request_latency_seconds_bucket",
                 "costroute_upstream_latency_seconds_bucket",
                 "costroute_gateway_overhead_seconds_bucket", "costroute_tokens_total",
                 "costroute_cost_usd_total", "costroute_estimate_relative_error_bucket"):
        assert name in text, name
    assert 'costroute_errors_total{code="model_not_found",route="passthrough"} 1.0' in text
    assert 'costroute_cost_usd_total{model="gpt-4o",route="passthrough",tier="remote"}' in text


def test_healthz(gateway: RunningGateway) -> None:
    assert httpx.get(f"{gateway.root_url}/healthz", timeout=30).json() == {"status": "ok"}


def test_readyz_on_the_in_process_store(gateway: RunningGateway) -> None:
    ready = httpx.get(f"{gateway.root_url}/readyz", timeout=30)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "budget_store": "ok"}


def test_errors_are_labelled_and_counted_per_tenant_on_every_api(
        gateway: RunningGateway) -> None:
    """A body that fails validation has no OpenAI code: its label is the error's type (not
    "None"); an embeddings error counts per tenant too, as chat's do (the console reads it)."""
    auth = {"authorization": f"Bearer {gateway.key}"}
    bad_chat = httpx.post(f"{gateway.base_url}/chat/completions", headers=auth, timeout=30,
                          json={"model": "gpt-4o-mini", "messages": "not a list"})
    assert bad_chat.status_code == 400 and bad_chat.json()["error"]["code"] is None
    bad_embedding = httpx.post(f"{gateway.base_url}/embeddings", headers=auth, timeout=30,
                               json={"model": "nope", "input": "x"})
    assert bad_embedding.status_code == 404
    text = httpx.get(f"{gateway.root_url}/metrics", timeout=30).text
    assert 'code="None"' not in text
    assert ('costroute_errors_total{code="invalid_request_error",route="passthrough"} 1.0'
            in text)
    lines = [line for line in text.splitlines()
             if line.startswith("costroute_tenant_errors_total{")]
    codes = sorted(line.split('code="')[1].split('"')[0] for line in lines)
    assert codes == ["invalid_request_error", "model_not_found"], lines


def test_refused_keys_are_counted(gateway: RunningGateway) -> None:
    """A wrong or missing key has no route yet: counted as `unauthenticated`, on every API."""
    for path, body in (("chat/completions", {"model": "gpt-4o-mini", "messages": MESSAGES}),
                       ("embeddings", {"model": "text-embedding-3-small", "input": "x"})):
        wrong = httpx.post(f"{gateway.base_url}/{path}", json=body, timeout=30,
                           headers={"authorization": "Bearer cr-not-a-key-at-all"})
        assert wrong.status_code == 401
    assert httpx.post(f"{gateway.base_url}/chat/completions", timeout=30,
                      json={"model": "gpt-4o-mini", "messages": MESSAGES}).status_code == 401
    text = httpx.get(f"{gateway.root_url}/metrics", timeout=30).text
    assert ('costroute_errors_total{code="invalid_api_key",route="unauthenticated"} 3.0'
            in text)
