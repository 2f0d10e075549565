"""The official openai client, sync and async, against the gateway over loopback HTTP."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from pricing import PriceCatalog, Usage, cost_usd
from tests.gateway.conftest import OTHER_KEY, RunningGateway
from tests.openai_schema import assert_openai, assert_sse_stream

MESSAGES = [{"role": "user", "content": "Name three primary colours."}]


def client(gw: RunningGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0)


def test_sync_completion_has_cost_headers_and_settled_usage(gateway: RunningGateway) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()
    assert_openai(raw.http_response.json(), "CreateChatCompletionResponse")
    assert completion.choices[0].message.content
    assert raw.headers["x-costroute-model"] == "gpt-4o-mini"
    assert raw.headers["x-request-id"]
    assert raw.headers["x-costroute-route"].startswith("passthrough")
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    expected = cost_usd(PriceCatalog.shipped()["gpt-4o-mini"],
                        Usage(usage.prompt_tokens, usage.completion_tokens))
    assert float(raw.headers["x-costroute-cost-usd"]) == pytest.approx(expected, abs=1e-8)
    assert raw.headers["x-costroute-cost-status"] == "actual"


def test_async_client_completion(gateway: RunningGateway) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key,
                                      max_retries=0) as aclient:
            completion = await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            return completion.choices[0].message.content or ""

    assert asyncio.run(run())


def test_stream_without_include_usage_hides_usage_chunk(gateway: RunningGateway) -> None:
    chunks = list(client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert chunks, "no chunks"
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text


def test_stream_with_include_usage_ends_with_usage_chunk(gateway: RunningGateway) -> None:
    chunks = list(client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True,
        stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens > 0


def test_async_stream_with_usage(gateway: RunningGateway) -> None:
    async def run() -> list[object]:
        async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.key,
                                      max_retries=0) as aclient:
            stream = await aclient.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True,
                stream_options={"include_usage": True})
            return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    assert chunks[-1].usage is not None  # type: ignore[attr-defined]


def test_upstream_always_asked_for_stream_usage(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    list(client(gateway).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                 stream=True))
    recent = sim.control.stats()["recent"][-1]
    assert recent["body"]["stream_options"]["include_usage"] is True


def test_stream_sse_framing_ends_with_done(gateway: RunningGateway) -> None:
    with httpx.stream("POST", f"{gateway.base_url}/chat/completions",
                      headers={"authorization": f"Bearer {gateway.key}"},
                      json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True},
                      timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-costroute-model"] == "gpt-4o-mini"
        text = r.read().decode()
    lines = [line for line in text.splitlines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    for chunk in assert_sse_stream(text):
        assert_openai(chunk, "CreateChatCompletionStreamResponse")


def test_router_alias_auto_and_cheapest(gateway: RunningGateway) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="router:cheapest", messages=MESSAGES)
    assert raw.headers["x-costroute-model"] == "mistralai/Mixtral-8x7B-Instruct-v0.1" or \
        raw.headers["x-costroute-model"] == "gpt-4o-mini"
    assert "cheapest" in raw.headers["x-costroute-route"]
    raw = client(gateway).chat.completions.with_raw_response.create(model="auto", messages=MESSAGES)
    assert raw.headers["x-costroute-route"].startswith("auto")


def test_models_lists_models_and_aliases(gateway: RunningGateway) -> None:
    ids = {m.id for m in client(gateway).models.list()}
    assert {"gpt-4o-mini", "gpt-4o", "auto", "router:cheapest"} <= ids


def test_models_list_only_what_the_key_may_use(gateway: RunningGateway) -> None:
    restricted = openai.OpenAI(base_url=gateway.base_url, api_key=OTHER_KEY, max_retries=0)
    assert {m.id for m in restricted.models.list()} == {"gpt-4o-mini", "router:cheapest"}
    with pytest.raises(openai.PermissionDeniedError) as caught:
        restricted.models.retrieve("gpt-4o")
    assert caught.value.code == "model_not_allowed"


def test_models_retrieve_a_model_or_a_route(gateway: RunningGateway) -> None:
    card = client(gateway).models.retrieve("gpt-4o")
    assert (card.id, card.object, card.owned_by) == ("gpt-4o", "model", "costroute-remote")
    assert client(gateway).models.retrieve("router:cheapest").owned_by == "costroute-router"
    raw = client(gateway).models.with_raw_response.retrieve("gpt-4o-mini")
    assert_openai(raw.http_response.json(), "Model")
    with pytest.raises(openai.NotFoundError) as caught:
        client(gateway).models.retrieve("gpt-9")
    assert caught.value.code == "model_not_found"
    assert caught.value.body["message"] == "The model `gpt-9` does not exist."  # type: ignore[index]
    keyless = httpx.get(f"{gateway.base_url}/models/gpt-4o")
    assert keyless.status_code == 401 and keyless.json()["error"]["code"] == "invalid_api_key"
    # An anthropic client sends its key as x-api-key only.
    anthropic_style = httpx.get(f"{gateway.base_url}/models", headers={"x-api-key": gateway.key})
    assert anthropic_style.status_code == 200 and anthropic_style.json()["data"]


def test_usage_counted_when_upstream_sends_none(gateway: RunningGateway, sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.inject_fault("gpt-4o-mini", "no_usage", count=1)
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers["x-costroute-cost-status"] == "estimated"
    assert raw.parse().usage.completion_tokens > 0  # type: ignore[union-attr]
    assert float(raw.headers["x-costroute-cost-usd"]) > 0
