"""`/v1/responses` through the gateway with the official openai client, over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai
import pytest

from gateway.simulator.server import SimulatorHandle
from pricing import PriceCatalog, Usage, cost_usd
from tests.gateway.conftest import RunningGateway
from tests.gateway.entrypoints.conftest import BROKE_KEY


def client(gw: RunningGateway, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=key or gw.key, max_retries=0)


def test_create_with_string_input_prices_like_chat(api: RunningGateway,
                                                   sim: SimulatorHandle) -> None:
    raw = client(api).responses.with_raw_response.create(
        model="gpt-4o-mini", input="Name three primary colours.", instructions="Be brief.",
        max_output_tokens=40, temperature=0.2)
    response = raw.parse()
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status in ("completed", "incomplete")
    assert response.output_text
    assert response.usage is not None and response.usage.output_tokens <= 40
    expected = cost_usd(PriceCatalog.shipped()["gpt-4o-mini"],
                        Usage(response.usage.input_tokens, response.usage.output_tokens))
    assert float(raw.headers["x-costroute-cost-usd"]) == pytest.approx(expected, abs=1e-10)
    assert raw.headers["x-costroute-model"] == "gpt-4o-mini"
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_completion_tokens"] == 40 and sent["temperature"] == 0.2


def test_item_input_and_router_alias(api: RunningGateway, sim: SimulatorHandle) -> None:
    raw = client(api).responses.with_raw_response.create(model="router:cheapest", input=[
        {"role": "user", "content": [{"type": "input_text", "text": "What is 2+2?"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "4"}]},
        {"role": "user", "content": "And 3+3?"}])
    assert raw.headers["x-costroute-route"].startswith("router:cheapest")
    assert raw.parse().output_text
    sent = sim.control.stats()["recent"][-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == "4"


def test_async_create(api: RunningGateway) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=api.base_url, api_key=api.key,
                                      max_retries=0) as aclient:
            response = await aclient.responses.create(model="gpt-4o", input="Hi there")
            return response.output_text

    assert asyncio.run(run())


def test_stream_carries_semantic_events_and_cost(api: RunningGateway) -> None:
    events = list(client(api).responses.create(model="gpt-4o-mini", input="Tell me a story.",
                                               stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    for kind in ("response.output_item.added", "response.content_part.added",
                 "response.output_text.delta", "response.output_text.done",
                 "response.content_part.done", "response.output_item.done"):
        assert kind in kinds
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    done = next(e for e in events if e.type == "response.output_text.done")
    assert text and done.text == text
    final = events[-1]
    assert final.response.output_text == text
    usage = final.response.usage
    assert usage is not None and usage.output_tokens > 0
    cost = final.model_extra["x_costroute"]["cost_usd"]  # type: ignore[index]
    assert cost == pytest.approx(cost_usd(PriceCatalog.shipped()["gpt-4o-mini"],
                                          Usage(usage.input_tokens, usage.output_tokens)))


def test_async_stream(api: RunningGateway) -> None:
    async def run() -> list[Any]:
        async with openai.AsyncOpenAI(base_url=api.base_url, api_key=api.key,
                                      max_retries=0) as aclient:
            stream = await aclient.responses.create(model="gpt-4o", input="Hi", stream=True)
            return [event async for event in stream]

    assert asyncio.run(run())[-1].type == "response.completed"


def test_stream_cut_midway_ends_with_error_and_failed(api: RunningGateway,
                                                      sim: SimulatorHandle) -> None:
    sim.control.inject_fault("gpt-4o-mini", "truncated_sse", after_chunks=3)
    events = list(client(api).responses.create(model="gpt-4o-mini", input="Tell me a story.",
                                               stream=True))
    assert events[-2].type == "error"
    assert events[-1].type == "response.failed"
    assert events[-1].response.error is not None
    assert events[-1].model_extra["x_costroute"]["cost_usd"] > 0  # type: ignore[index]


def test_previous_response_id_is_a_clear_400(api: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(api).responses.create(model="gpt-4o", input="Hi",
                                     previous_response_id="resp_123")
    assert "stateless" in info.value.message
    assert info.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_stored_response_endpoints_say_nothing_is_stored(api: RunningGateway) -> None:
    made = client(api).responses.create(model="gpt-4o-mini", input="Hi", store=True)
    assert made.store is False  # stateless, whatever was asked
    calls = [lambda: client(api).responses.retrieve(made.id),
             lambda: client(api).responses.delete(made.id),
             lambda: client(api).responses.input_items.list(made.id),
             lambda: client(api).responses.cancel(made.id)]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert "stateless" in info.value.message and made.id in info.value.message
        assert info.value.body["param"] == "response_id"  # type: ignore[index]
    keyless = httpx.get(f"{api.base_url}/responses/{made.id}")
    assert keyless.status_code == 401 and "error" in keyless.json()


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o"},
    {"model": "gpt-4o", "input": []},
    {"model": "gpt-4o", "input": [{"type": "file_search_call"}]},
    {"model": "gpt-4o", "input": "x", "tools": [{"type": "web_search"}]},
    {"model": "gpt-4o", "input": "x", "max_output_tokens": 0},
    {"model": "gpt-4o", "input": [{"role": "user", "content": [{"type": "input_file"}]}]},
    {"model": "no-such-model", "input": "x"},
    {"model": "gpt-4o", "input": "x", "text": {"format": "json"}},
    {"model": "gpt-4o", "input": "x", "reasoning": {"effort": 5}},
    {"model": "gpt-4o", "input": [{"role": "user", "content": [5]}]},
    {"model": "gpt-4o", "input": [{"type": "function_call", "name": "f"}]},
    {"model": "gpt-4o", "input": "x", "tool_choice": {"type": "mcp"}},
    {"model": "gpt-4o", "input": "x", "temperature": 3},
])
def test_bad_input_is_4xx_in_openai_shape(api: RunningGateway, body: dict[str, Any]) -> None:
    r = httpx.post(f"{api.base_url}/responses", json=body,
                   headers={"authorization": f"Bearer {api.key}"})
    assert 400 <= r.status_code < 500
    assert r.json()["error"]["message"]


def test_budget_refusal_is_429(api: RunningGateway) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client(api, BROKE_KEY).responses.create(model="gpt-4o-mini", input="x")
    assert info.value.body["code"] == "budget_exceeded"  # type: ignore[index]
    with pytest.raises(openai.RateLimitError):
        client(api, BROKE_KEY).responses.create(model="gpt-4o-mini", input="x", stream=True)


WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]}}


def test_tool_call_conversation_round_trip(api: RunningGateway, sim: SimulatorHandle) -> None:
    first = client(api).responses.create(model="gpt-4o", input="Weather in Paris?",
                                         tools=[WEATHER_TOOL], tool_choice="required")
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.arguments == '{"city":"simulated"}'
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tool_choice"] == "required"
    second = client(api).responses.create(model="gpt-4o", tools=[WEATHER_TOOL], input=[
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name,
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "18C, sunny"}])
    assert second.output_text
    messages = sim.control.stats()["recent"][-1]["body"]["messages"]
    assert messages[1]["tool_calls"][0]["id"] == call.call_id
    assert messages[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "18C, sunny"}


def test_streamed_tool_call_events(api: RunningGateway) -> None:
    events = list(client(api).responses.create(
        model="gpt-4o", input="Weather?", tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "name": "get_weather"}, stream=True))
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == '{"city":"simulated"}'
    final = events[-1].response
    assert final.output[0].type == "function_call"
    assert final.output[0].arguments == done.arguments


def test_json_schema_format_passes_through(api: RunningGateway, sim: SimulatorHandle) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    client(api).responses.create(model="gpt-4o", input="x", text={"format": {
        "type": "json_schema", "name": "thing", "schema": schema, "strict": True}})
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "thing", "schema": schema, "strict": True}}
