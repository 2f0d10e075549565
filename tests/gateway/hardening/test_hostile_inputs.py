"""Hostile requests to a real gateway over loopback: each gets a 4xx in OpenAI's shape, never
a 5xx, a hang or a crash; valid but unusual requests (tools, emoji, deep-ish JSON) pass."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.middleware import MAX_HEADER_BYTES
from gateway.protocol import MAX_JSON_DEPTH, MAX_N, MAX_TOKENS_CEILING
from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import GatewayFactory, RunningGateway, sim_config
from tests.gateway.hardening.conftest import assert_error_shape

MODEL = "gpt-4o-mini"
HELLO = [{"role": "user", "content": "hello"}]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.", "strict": True,
    "parameters": {"type": "object", "additionalProperties": False, "required": ["city"],
                   "properties": {"city": {"type": "string"},
                                  "unit": {"type": "string", "enum": ["c", "f"]}}}}}


def send(gw: RunningGateway, content: bytes | Iterator[bytes],
         headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{gw.base_url}/chat/completions", content=content, timeout=60,
                      headers={"authorization": f"Bearer {gw.key}",
                               "content-type": "application/json", **(headers or {})})


def chat(gw: RunningGateway, **body: Any) -> httpx.Response:
    return httpx.post(f"{gw.base_url}/chat/completions", json={"model": MODEL, **body},
                      headers={"authorization": f"Bearer {gw.key}"}, timeout=60)


def rejected(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return assert_error_shape(response)


def nested(depth: int) -> str:
    return '{"a":' * (depth - 1) + "1" + "}" * (depth - 1)


# -- size limits ------------------------------------------------------------------------------

def test_oversized_body_is_413_whether_declared_or_streamed(
        sim: SimulatorHandle, gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(sim_config(sim, server={"max_body_bytes": 4096}))
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * 8000 + b'"}]}'
    assert rejected(send(gw, body), 413)["code"] == "request_too_large"
    chunked = send(gw, iter([body[i:i + 1000] for i in range(0, len(body), 1000)]))
    assert rejected(chunked, 413)["code"] == "request_too_large"


@pytest.mark.parametrize("headers", [
    {"x-padding": "a" * (MAX_HEADER_BYTES + 1)},
    {f"x-h{i}": "v" * 64 for i in range(MAX_HEADER_BYTES // 64)},
], ids=["one-huge-header", "many-headers"])
def test_oversized_headers_are_431(shared_gateway: RunningGateway, headers: dict[str, str]) -> None:
    response = httpx.post(
        f"{shared_gateway.base_url}/chat/completions", json={"model": MODEL, "messages": HELLO},
        headers={"authorization": f"Bearer {shared_gateway.key}", **headers}, timeout=60)
    assert rejected(response, 431)["code"] == "request_headers_too_large"


def test_headers_under_the_limit_pass(shared_gateway: RunningGateway) -> None:
    response = httpx.post(f"{shared_gateway.base_url}/chat/completions",
                          json={"model": MODEL, "messages": HELLO}, timeout=60,
                          headers={"authorization": f"Bearer {shared_gateway.key}",
                                   "x-padding": "a" * 8192})
    assert response.status_code == 200, response.text


# -- JSON ------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 2000])
def test_deeply_nested_json_is_400(shared_gateway: RunningGateway, depth: int) -> None:
    body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":'
    rejected(send(shared_gateway, (body + nested(depth) + "}").encode()))


def test_moderately_nested_json_passes_through(shared_gateway: RunningGateway,
                                               sim: SimulatorHandle) -> None:
    body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":'
    response = send(shared_gateway, (body + nested(MAX_JSON_DEPTH - 4) + "}").encode())
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("raw", [
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\xff\xfe"}]}',
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\xc0\xaf"}]}',  # overlong
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\xed\xa0\x80"}]}',  # surrogate
    b'{"model":"gpt-\x80","messages":[{"role":"user","content":"hi"}]}',
], ids=["ff-fe", "overlong", "utf8-surrogate", "in-model"])
def test_invalid_utf8_is_400(shared_gateway: RunningGateway, raw: bytes) -> None:
    rejected(send(shared_gateway, raw))


@pytest.mark.parametrize("where", [
    '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a\\ud800b"}]}',
    '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\udfff"}]}',
    ('{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text",'
     '"text":"\\ud83d"}]}]}'),
    '{"model":"gpt\\ud800","messages":[{"role":"user","content":"hi"}]}',
    '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"user":"\\udc00"}',
], ids=["high", "low", "content-part", "model", "user"])
def test_lone_surrogates_are_400(shared_gateway: RunningGateway, where: str) -> None:
    rejected(send(shared_gateway, where.encode()))


def test_a_surrogate_pair_is_an_ordinary_character(shared_gateway: RunningGateway) -> None:
    content = (b'{"model":"gpt-4o-mini","messages":'
               b'[{"role":"user","content":"smile \\ud83d\\ude00"}]}')
    assert send(shared_gateway, content).status_code == 200


# -- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("n", MAX_N + 1), ("n", 10**9), ("n", 0), ("n", 10**40),
    ("max_tokens", MAX_TOKENS_CEILING + 1), ("max_tokens", 10**40), ("max_tokens", 0),
    ("max_completion_tokens", 10**12), ("max_tokens", 1.5), ("max_tokens", "lots"),
])
def test_huge_or_bad_n_and_max_tokens_are_400_on_the_field(
        shared_gateway: RunningGateway, field: str, value: Any) -> None:
    assert rejected(chat(shared_gateway, messages=HELLO, **{field: value}))["param"] == field


@pytest.mark.parametrize("body", [
    {"max_tokens": MAX_TOKENS_CEILING},  # beyond the model's context: the upstream says 400
    {"max_completion_tokens": MAX_TOKENS_CEILING, "stream": True},
    {"n": MAX_N, "max_tokens": 4},  # the simulator answers n=1 only: a 400 from upstream
    {"n": MAX_N, "max_tokens": 4, "stream": True},
])
def test_largest_accepted_n_and_max_tokens_never_5xx(shared_gateway: RunningGateway,
                                                     body: dict[str, Any]) -> None:
    response = chat(shared_gateway, messages=HELLO, **body)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert_error_shape(response)


def test_huge_max_tokens_against_a_budget_is_refused_before_the_upstream(
        sim: SimulatorHandle, gateway_factory: GatewayFactory) -> None:
    from gateway.tenants.config import TenantConfig, hash_key

    capped = TenantConfig(name="capped", key_sha256=[hash_key("cr-capped-key-000001")],
                          budgets=[{"period": "day", "limit_usd": 0.01}])  # type: ignore[list-item]
    gw = gateway_factory(sim_config(sim), tenants=[capped])
    response = httpx.post(f"{gw.base_url}/chat/completions", timeout=60,
                          headers={"authorization": "Bearer cr-capped-key-000001"},
                          json={"model": "gpt-4o", "messages": HELLO,
                                "max_tokens": MAX_TOKENS_CEILING})
    assert rejected(response, 429)["code"] == "budget_exceeded"
    assert sim.control.requests("gpt-4o") == 0


# -- roles -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["wizard", "", "USER", None, 5, ["user"], "user\u0000"])
def test_unknown_roles_are_400(shared_gateway: RunningGateway, role: Any) -> None:
    response = chat(shared_gateway, messages=[{"role": role, "content": "hi"}])
    assert rejected(response)["param"] == "messages.0.role"


# -- tools -----------------------------------------------------------------------------------

def test_valid_tool_payloads_pass_through_untouched(shared_gateway: RunningGateway,
                                                    sim: SimulatorHandle) -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
    ]
    body = {"messages": messages, "tools": [WEATHER_TOOL], "parallel_tool_calls": False,
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
    response = chat(shared_gateway, **body)
    assert response.status_code == 200, response.text
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["tools"] == [WEATHER_TOOL]
    assert sent["tool_choice"] == body["tool_choice"]
    assert sent["messages"] == messages


@pytest.mark.parametrize("tools,param", [
    ("get_weather", "tools"),
    ({"type": "function"}, "tools"),
    ([{"function": {"name": "f"}}], "tools.0.type"),
    ([{"type": "function"}], "tools.0"),
    ([{"type": "function", "function": {"name": ""}}], "tools.0.function.name"),
    ([{"type": "function", "function": {"name": "f" * 257}}], "tools.0.function.name"),
    ([{"type": "function", "function": {"description": "no name"}}], "tools.0.function.name"),
    ([{"type": "function", "function": {"name": "f", "parameters": "{}"}}],
     "tools.0.function.parameters"),
    ([{"type": "function", "function": {"name": "f", "parameters": [1]}}],
     "tools.0.function.parameters"),
    ([{"type": "function", "function": {"name": "f", "description": 5}}],
     "tools.0.function.description"),
    ([WEATHER_TOOL] * 129, "tools"),
], ids=["string", "object", "no-type", "no-function", "empty-name", "long-name", "no-name",
        "params-string", "params-list", "description-int", "too-many"])
def test_invalid_tool_definitions_are_400(shared_gateway: RunningGateway, sim: SimulatorHandle,
                                          tools: Any, param: str) -> None:
    error = rejected(chat(shared_gateway, messages=HELLO, tools=tools))
    assert error["param"] == param
    assert sim.control.stats()["total"] == 0


# -- request ids -----------------------------------------------------------------------------

def test_a_reused_client_request_id_neither_fails_nor_shares_a_reservation(
        sim: SimulatorHandle, gateway_factory: GatewayFactory) -> None:
    """The client's id is echoed; the ledger keys on the gateway's own, so each call counts."""
    gw = gateway_factory(sim_config(sim))
    sim.control.inject_fault(MODEL, "slow", count=2, delay_s=0.5)  # the first two overlap

    async def same_id_thrice() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            def call() -> Any:
                return client.post(f"{gw.base_url}/chat/completions",
                                   json={"model": MODEL, "messages": HELLO},
                                   headers={"authorization": f"Bearer {gw.key}",
                                            "x-request-id": "client-id-1"})
            together = await asyncio.gather(call(), call())
            return [*together, await call()]

    responses = asyncio.run(same_id_thrice())
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    assert {r.headers["x-client-request-id"] for r in responses} == {"client-id-1"}
    assert len({r.headers["x-request-id"] for r in responses}) == 3
    report = httpx.get(f"{gw.base_url}/costroute/spend", timeout=30,
                       headers={"authorization": f"Bearer {gw.key}"}).json()["total"]
    assert report["requests"] == 3
    charged = sum(float(r.headers["x-costroute-cost-usd"]) for r in responses)
    assert report["cost_usd"] == pytest.approx(charged, abs=1e-7)


@pytest.mark.parametrize("client_id", ["has space", "x" * 129, "semi;colon", ""])
def test_unsafe_client_request_ids_are_not_echoed(shared_gateway: RunningGateway,
                                                  client_id: str) -> None:
    response = httpx.get(f"{shared_gateway.base_url}/models", timeout=30,
                         headers={"authorization": f"Bearer {shared_gateway.key}",
                                  "x-request-id": client_id})
    assert response.status_code == 200
    assert "x-client-request-id" not in response.headers
    assert response.headers["x-request-id"].startswith("req_")
