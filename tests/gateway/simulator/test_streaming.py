"""Streaming: OpenAI's chunk sequence, with and without `stream_options.include_usage`."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from gateway.simulator.streaming import split_pieces
from tests.gateway.simulator.helpers import chat_body, user
from tests.openai_schema import assert_openai, assert_sse_stream

PROMPT = "List three reasons to water tomatoes in the morning."


def test_stream_without_include_usage_has_no_usage(http: httpx.Client) -> None:
    full = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT)).json()
    raw = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT, stream=True))
    assert raw.headers["content-type"].startswith("text/event-stream")
    chunks = assert_sse_stream(raw.text)
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1]["choices"][0] == {
        "index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"
    }
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == full["choices"][0]["message"]["content"]
    assert len({c["id"] for c in chunks}) == 1


def test_include_usage_adds_a_final_usage_chunk(http: httpx.Client) -> None:
    full = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT)).json()
    body = chat_body("gpt-4o", PROMPT, stream=True, stream_options={"include_usage": True})
    chunks = assert_sse_stream(http.post("/chat/completions", json=body).text)
    *content_chunks, last = chunks
    assert all(c["usage"] is None and len(c["choices"]) == 1 for c in content_chunks)
    assert last["choices"] == []
    assert last["usage"] == full["usage"]


def test_include_usage_false_is_like_no_option(http: httpx.Client) -> None:
    body = chat_body("gpt-4o", PROMPT, stream=True, stream_options={"include_usage": False})
    chunks = assert_sse_stream(http.post("/chat/completions", json=body).text)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in chunk for chunk in chunks)


def test_streamed_max_tokens_ends_with_length(http: httpx.Client) -> None:
    body = chat_body(
        "gpt-4o", PROMPT, stream=True, max_tokens=5, stream_options={"include_usage": True}
    )
    chunks = assert_sse_stream(http.post("/chat/completions", json=body).text)
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] <= 5


def test_openai_sync_client_streams(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model="gpt-4o-mini", messages=user(PROMPT))
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=user(PROMPT),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    assert chunks[-1].usage == full.usage


async def test_openai_async_client_streams(async_client: openai.AsyncOpenAI) -> None:
    full = await async_client.chat.completions.create(model="gpt-4o", messages=user(PROMPT))
    stream = await async_client.chat.completions.create(
        model="gpt-4o", messages=user(PROMPT), stream=True
    )
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == full.choices[0].message.content


async def test_openai_async_client_non_streaming(async_client: openai.AsyncOpenAI) -> None:
    reply = await async_client.chat.completions.create(model="gpt-4o", messages=user(PROMPT))
    assert_openai(reply.model_dump(mode="json", exclude_unset=True), "CreateChatCompletionResponse")
    assert reply.usage is not None and reply.usage.completion_tokens > 0


def test_stream_options_without_stream_is_rejected(http: httpx.Client) -> None:
    body = chat_body("gpt-4o", PROMPT, stream_options={"include_usage": True})
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "stream_options"


@pytest.mark.parametrize("text", ["", "one", "  lead and trail  ", "a\n\nb\tc", "x " * 50])
def test_stream_pieces_join_back_to_the_text(text: str) -> None:
    pieces = split_pieces(text)
    assert "".join(pieces) == text
    assert all(p.strip() for p in pieces[:-1])


def test_sse_lines_are_one_json_object_each(http: httpx.Client) -> None:
    raw = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT, stream=True)).text
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    for event in events[:-1]:
        json.loads(event.removeprefix("data: "))
