"""Injected faults: each kind fails the next N requests to one model the way it says."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from gateway.simulator import SimulatorControlError, SimulatorHandle
from tests.gateway.simulator.helpers import chat_body
from tests.openai_schema import assert_openai, assert_sse_stream, sse_data

MODEL = "gpt-4o-mini"
BODY = chat_body(MODEL, "Name a prime number between ten and twenty.")
STREAM = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
CONNECTION_DROPPED = (httpx.ReadError, httpx.RemoteProtocolError)


def test_http_500_fails_exactly_count_requests(
    simulator: SimulatorHandle, client: openai.OpenAI
) -> None:
    simulator.control.inject_fault(MODEL, "http_500", count=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as failure:
            client.chat.completions.create(model=MODEL, messages=BODY["messages"])
        assert_openai(failure.value.response.json(), "ErrorResponse")
    assert client.chat.completions.create(model=MODEL, messages=BODY["messages"]).choices
    stats = simulator.control.stats()
    assert stats["requests"] == {MODEL: 3}
    assert stats["faults"] == {MODEL: {"http_500": 2}}
    assert [r["status"] for r in stats["recent"]] == [500, 500, 200]


def test_http_500_can_carry_another_5xx_status(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "http_500", status=503)
    reply = http.post("/chat/completions", json=BODY)
    assert reply.status_code == 503
    assert_openai(reply.json(), "ErrorResponse")


@pytest.mark.parametrize(("retry_after", "header"), [(1, "1"), (2.5, "2.5")])
def test_http_429_sends_retry_after(
    simulator: SimulatorHandle, http: httpx.Client, retry_after: float, header: str
) -> None:
    simulator.control.inject_fault(MODEL, "http_429", retry_after=retry_after)
    reply = http.post("/chat/completions", json=BODY)
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == header
    assert reply.json()["error"]["code"] == "rate_limit_exceeded"
    assert_openai(reply.json(), "ErrorResponse")


def test_openai_client_sees_429_as_rate_limit(
    simulator: SimulatorHandle, client: openai.OpenAI
) -> None:
    simulator.control.inject_fault(MODEL, "http_429")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=MODEL, messages=BODY["messages"])


def test_faults_queue_in_order_and_other_models_are_untouched(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "http_429")
    simulator.control.inject_fault(MODEL, "http_500")
    assert http.post("/chat/completions", json={**BODY, "model": "gpt-4o"}).status_code == 200
    codes = [http.post("/chat/completions", json=BODY).status_code for _ in range(3)]
    assert codes == [429, 500, 200]


def test_wildcard_fault_hits_any_model(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.inject_fault("*", "http_500", count=2)
    assert http.post("/chat/completions", json={**BODY, "model": "gpt-4o"}).status_code == 500
    assert http.post("/chat/completions", json=BODY).status_code == 500
    assert http.post("/chat/completions", json=BODY).status_code == 200


def test_timeout_hangs_until_the_client_gives_up(
    simulator: SimulatorHandle, client: openai.OpenAI
) -> None:
    simulator.control.inject_fault(MODEL, "timeout", delay_s=30)
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3).chat.completions.create(
            model=MODEL, messages=BODY["messages"]
        )


def test_timeout_resets_the_connection_when_its_delay_ends(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "timeout", delay_s=0.2)
    with pytest.raises(CONNECTION_DROPPED):
        http.post("/chat/completions", json=BODY)


def test_slow_answers_correctly_but_late(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.inject_fault(MODEL, "slow", delay_s=30)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json=BODY, timeout=0.3)
    simulator.control.inject_fault(MODEL, "slow", delay_s=0.05)
    reply = http.post("/chat/completions", json=BODY)
    assert reply.status_code == 200
    assert_openai(reply.json(), "CreateChatCompletionResponse")


def test_reset_drops_the_tcp_connection(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.inject_fault(MODEL, "reset", count=2)
    with pytest.raises(httpx.ReadError, match="reset"):
        http.post("/chat/completions", json=BODY)
    with pytest.raises(CONNECTION_DROPPED):
        http.post("/chat/completions", json=STREAM)
    assert http.post("/chat/completions", json=BODY).status_code == 200
    assert [r["status"] for r in simulator.control.stats()["recent"]] == [None, None, 200]


def test_openai_client_sees_a_reset_as_a_connection_error(
    simulator: SimulatorHandle, client: openai.OpenAI
) -> None:
    simulator.control.inject_fault(MODEL, "reset")
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=MODEL, messages=BODY["messages"])


def test_reset_mid_stream_after_some_chunks(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "reset", after_chunks=3)
    received: list[str] = []
    with (
        pytest.raises(CONNECTION_DROPPED),
        http.stream("POST", "/chat/completions", json=STREAM) as reply,
    ):
        assert reply.status_code == 200
        for line in reply.iter_lines():
            if line.startswith("data: "):
                received.append(line)
    assert len(received) == 4  # the role chunk and three content chunks
    assert all(json.loads(line.removeprefix("data: "))["choices"] for line in received)


async def test_async_client_sees_a_mid_stream_reset(
    simulator: SimulatorHandle, async_client: openai.AsyncOpenAI
) -> None:
    simulator.control.inject_fault(MODEL, "reset", after_chunks=2)
    stream = await async_client.chat.completions.create(
        model=MODEL, messages=BODY["messages"], stream=True
    )
    with pytest.raises((openai.APIConnectionError, *CONNECTION_DROPPED)):
        async for _ in stream:
            pass


def test_malformed_sse_sends_one_non_json_data_line(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "malformed_sse", after_chunks=2)
    payloads = list(sse_data(http.post("/chat/completions", json=STREAM).text))
    broken = [p for p in payloads if p != "[DONE]" and not _is_json(p)]
    assert len(broken) == 1
    assert payloads.index(broken[0]) == 3  # after the role chunk and two content chunks
    assert payloads[-1] == "[DONE]"


def test_malformed_non_streaming_body_is_not_json(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "malformed_sse")
    reply = http.post("/chat/completions", json=BODY)
    assert reply.status_code == 200
    assert not _is_json(reply.text)


def test_truncated_sse_ends_without_done(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.inject_fault(MODEL, "truncated_sse", after_chunks=2)
    chunks = assert_sse_stream(http.post("/chat/completions", json=STREAM).text, require_done=False)
    assert len(chunks) == 3
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    simulator.control.inject_fault(MODEL, "truncated_sse")
    cut = http.post("/chat/completions", json=BODY)
    assert cut.status_code == 200 and not _is_json(cut.text)


def test_stall_pauses_then_completes(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.inject_fault(MODEL, "stall", delay_s=0.05, after_chunks=1)
    chunks = assert_sse_stream(http.post("/chat/completions", json=STREAM).text)
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_no_usage_omits_usage(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.inject_fault(MODEL, "no_usage", count=2)
    body = http.post("/chat/completions", json=BODY).json()
    assert "usage" not in body
    assert_openai(body, "CreateChatCompletionResponse")
    chunks = assert_sse_stream(http.post("/chat/completions", json=STREAM).text)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(chunk.get("usage") is None for chunk in chunks)


def test_vllm_error_nested_has_an_integer_code(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "vllm_error", count=2)
    reply = http.post("/chat/completions", json=BODY)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == 400 and error["type"] == "BadRequestError" and error["message"]
    simulator.control.inject_fault(MODEL, "vllm_error", status=500)
    http.post("/chat/completions", json=BODY)  # the second of count=2, still 400
    assert http.post("/chat/completions", json=BODY).json()["error"]["code"] == 500


def test_vllm_error_flat_is_a_top_level_error_object(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "vllm_error", vllm_shape="flat")
    reply = http.post("/chat/completions", json=BODY)
    assert reply.status_code == 400
    body = reply.json()
    assert body["object"] == "error" and body["code"] == 400 and "error" not in body


def test_vllm_error_unauthorized_is_a_bare_string(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.inject_fault(MODEL, "vllm_error", vllm_shape="unauthorized")
    reply = http.post("/chat/completions", json=BODY)
    assert reply.status_code == 401
    assert reply.json() == {"error": "Unauthorized"}


def test_clearing_faults(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.inject_fault(MODEL, "http_500", count=5)
    simulator.control.inject_fault("gpt-4o", "http_500", count=5)
    assert set(simulator.control.pending_faults()) == {MODEL, "gpt-4o"}
    simulator.control.clear_faults(MODEL)
    assert set(simulator.control.pending_faults()) == {"gpt-4o"}
    simulator.control.clear_faults()
    assert simulator.control.pending_faults() == {}
    assert http.post("/chat/completions", json=BODY).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"model": "no-such-model", "kind": "http_500"},
        {"model": MODEL, "kind": "explode"},
        {"model": MODEL, "kind": "http_500", "count": 0},
        {"model": MODEL, "kind": "slow", "delay_s": -1},
        {"model": MODEL, "kind": "vllm_error", "vllm_shape": "odd"},
        {"model": MODEL, "kind": "http_500", "status": 200},
    ],
)
def test_bad_fault_requests_are_refused(
    simulator: SimulatorHandle, fault: dict[str, Any]
) -> None:
    reply = httpx.post(f"{simulator.root_url}/_simulator/faults", json=fault)
    assert reply.status_code == 400
    assert_openai(reply.json(), "ErrorResponse")
    with pytest.raises(SimulatorControlError):
        simulator.control.inject_fault(**fault)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
