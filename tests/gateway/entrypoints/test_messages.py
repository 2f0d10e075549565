"""`/v1/messages` through the gateway with the official anthropic client, over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import httpx
import pytest

from gateway.simulator.server import SimulatorHandle
from pricing import PriceCatalog, Usage, cost_usd
from tests.gateway.conftest import RunningGateway
from tests.gateway.entrypoints.conftest import BROKE_KEY

WEATHER_TOOL = {"name": "get_weather", "description": "Weather in a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
         "60e6kgAAAABJRU5ErkJggg==")


def client(gw: RunningGateway, key: str | None = None) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.root_url, api_key=key or gw.key, max_retries=0)


def test_create_message_with_system_prices_like_chat(api: RunningGateway,
                                                     sim: SimulatorHandle) -> None:
    raw = client(api).messages.with_raw_response.create(
        model="gpt-4o-mini", max_tokens=50, system="Be brief.",
        messages=[{"role": "user", "content": "Name three primary colours."}])
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.output_tokens <= 50
    expected = cost_usd(PriceCatalog.shipped()["gpt-4o-mini"],
                        Usage(message.usage.input_tokens, message.usage.output_tokens))
    assert float(raw.headers["x-costroute-cost-usd"]) == pytest.approx(expected, abs=1e-10)
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_completion_tokens"] == 50


def test_router_alias_and_async_client(api: RunningGateway) -> None:
    async def run() -> str:
        async with anthropic.AsyncAnthropic(base_url=api.root_url, api_key=api.key,
                                            max_retries=0) as aclient:
            message = await aclient.messages.create(
                model="auto", max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
            return message.content[0].text  # type: ignore[union-attr]

    assert asyncio.run(run())


def test_bearer_auth_works_too(api: RunningGateway) -> None:
    r = httpx.post(f"{api.root_url}/v1/messages", headers={"authorization": f"Bearer {api.key}"},
                   json={"model": "gpt-4o", "max_tokens": 20,
                         "messages": [{"role": "user", "content": "Hi"}]})
    assert r.status_code == 200 and r.json()["type"] == "message"


def test_stream_events_in_order_with_usage_and_cost(api: RunningGateway) -> None:
    with client(api).messages.stream(
            model="gpt-4o-mini", max_tokens=200,
            messages=[{"role": "user", "content": "Tell me a story."}]) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert "content_block_start" in kinds and "content_block_delta" in kinds
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert final.content[0].text  # type: ignore[union-attr]
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    delta = next(e for e in events if e.type == "message_delta")
    cost = delta.model_extra["x_costroute"]["cost_usd"]  # type: ignore[index]
    assert cost == pytest.approx(cost_usd(PriceCatalog.shipped()["gpt-4o-mini"], Usage(
        final.usage.input_tokens, final.usage.output_tokens)))


def test_raw_stream_with_create(api: RunningGateway) -> None:
    events = list(client(api).messages.create(
        model="gpt-4o", max_tokens=50, stream=True,
        messages=[{"role": "user", "content": "Hi"}]))
    assert events[-1].type == "message_stop"


def test_tool_use_conversation(api: RunningGateway, sim: SimulatorHandle) -> None:
    first = client(api).messages.create(
        model="gpt-4o", max_tokens=100, tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert first.stop_reason == "tool_use"
    use = first.content[0]
    assert use.type == "tool_use" and use.name == "get_weather"
    assert use.input == {"city": "simulated"}
    second = client(api).messages.create(
        model="gpt-4o", max_tokens=100, tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
                  {"role": "user", "content": [
                      {"type": "tool_result", "tool_use_id": use.id, "content": "18C"},
                      {"type": "text", "text": "Thanks!"}]}])
    assert second.stop_reason in ("end_turn", "max_tokens")
    sent = sim.control.stats()["recent"][-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == use.id
    assert sent[2] == {"role": "tool", "tool_call_id": use.id, "content": "18C"}
    assert sent[3] == {"role": "user", "content": "Thanks!"}


def test_streamed_tool_use(api: RunningGateway) -> None:
    with client(api).messages.stream(
            model="gpt-4o", max_tokens=100, tools=[WEATHER_TOOL],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "get_weather"},
            messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[-1].input == {"city": "simulated"}  # type: ignore[union-attr]


def test_image_block_becomes_image_part(api: RunningGateway, sim: SimulatorHandle) -> None:
    client(api).messages.create(model="gpt-4o", max_tokens=20, messages=[{
        "role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PIXEL}},
            {"type": "text", "text": "What is this?"}]}])
    parts = sim.control.stats()["recent"][-1]["body"]["messages"][0]["content"]
    assert parts[0] == {"type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}


def test_count_tokens(api: RunningGateway) -> None:
    short = client(api).messages.count_tokens(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    longer = client(api).messages.count_tokens(
        model="gpt-4o", system="You are a helpful assistant.",
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Hi"}])
    assert 0 < short.input_tokens < longer.input_tokens


def test_stream_cut_midway_raises_in_the_sdk(api: RunningGateway,
                                             sim: SimulatorHandle) -> None:
    sim.control.inject_fault("gpt-4o-mini", "truncated_sse", after_chunks=3)
    with pytest.raises(anthropic.APIStatusError), client(api).messages.stream(
            model="gpt-4o-mini", max_tokens=200,
            messages=[{"role": "user", "content": "Tell me a story."}]) as stream:
        list(stream)


def test_budget_refusal_is_429_in_anthropic_shape(api: RunningGateway) -> None:
    with pytest.raises(anthropic.RateLimitError) as info:
        client(api, BROKE_KEY).messages.create(
            model="gpt-4o-mini", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert info.value.body["type"] == "error"  # type: ignore[index]
    assert info.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_bad_key_is_401_in_anthropic_shape(api: RunningGateway) -> None:
    with pytest.raises(anthropic.AuthenticationError) as info:
        client(api, "wrong-key").messages.create(
            model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_models_answer_an_anthropic_client_in_its_shape(api: RunningGateway) -> None:
    models = client(api).models.list()
    ids = [m.id for m in models.data]
    assert "gpt-4o" in ids and "auto" in ids
    assert all(m.type == "model" and m.display_name == m.id and m.created_at for m in models.data)
    assert (models.first_id, models.last_id, models.has_more) == (ids[0], ids[-1], False)
    info = client(api).models.retrieve("gpt-4o")
    assert (info.id, info.type) == ("gpt-4o", "model")
    with pytest.raises(anthropic.NotFoundError) as missing:
        client(api).models.retrieve("gpt-9")
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.AuthenticationError) as refused:
        client(api, "wrong-key").models.list()
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_unserved_parts_of_anthropics_api_answer_in_its_shape(api: RunningGateway) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        client(api).messages.batches.list()
    assert info.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    wrong_method = httpx.get(f"{api.root_url}/v1/messages", headers={"x-api-key": api.key})
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "error"
    elsewhere = httpx.get(f"{api.root_url}/v1/nothing-here", headers={"x-api-key": api.key})
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},  # no max_tokens
    {"model": "gpt-4o", "max_tokens": 10, "messages": []},
    {"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]},
    {"model": "gpt-4o", "max_tokens": 10,
     "messages": [{"role": "user", "content": [{"type": "document"}]}]},
    {"model": "gpt-4o", "max_tokens": 10, "tools": [{"type": "web_search_20250305"}],
     "messages": [{"role": "user", "content": "x"}]},
    {"model": "no-such-model", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
    "not json",
    {"model": "gpt-4o", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "image", "source": "http://x"}]}]},
    {"model": "gpt-4o", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "tool_result"}]}]},
    {"model": "gpt-4o", "max_tokens": 10, "tool_choice": {"type": "sometimes"},
     "messages": [{"role": "user", "content": "x"}]},
    {"model": "gpt-4o", "max_tokens": 10, "temperature": 1.5,
     "messages": [{"role": "user", "content": "x"}]},
    {"model": "gpt-4o", "max_tokens": 10, "system": [{"type": "image"}],
     "messages": [{"role": "user", "content": "x"}]},
])
def test_bad_input_is_4xx_in_anthropic_shape(api: RunningGateway, body: Any) -> None:
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
    r = httpx.post(f"{api.root_url}/v1/messages", headers={"x-api-key": api.key}, **kwargs)
    assert 400 <= r.status_code < 500
    payload = r.json()
    assert payload["type"] == "error" and payload["error"]["message"]


def test_cache_control_is_stripped_for_an_openai_wire_upstream(api: RunningGateway,
                                                               sim: SimulatorHandle) -> None:
    # The Anthropic upstream keeps it (tests/gateway/upstream/test_anthropic_upstream.py).
    mark = {"type": "ephemeral"}
    message = client(api).messages.create(
        model="gpt-4o-mini", max_tokens=30,
        system=[{"type": "text", "text": "You are terse.", "cache_control": mark}],
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "A long shared prefix.", "cache_control": mark},
            {"type": "text", "text": " Now the question."}]}])
    assert message.content
    sent = sim.control.stats()["recent"][-1]["body"]
    assert "cache_control" not in str(sent)
    system, user = sent["messages"]
    assert [p["text"] for p in system["content"]] == ["You are terse."]
    assert [p["text"] for p in user["content"]] == ["A long shared prefix.", " Now the question."]
