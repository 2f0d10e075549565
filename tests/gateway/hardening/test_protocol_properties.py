"""Hypothesis on the request models (gateway/protocol.py): whatever comes in, validation
either accepts it or raises ValidationError, and whatever it accepts can be forwarded."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.protocol import MAX_JSON_DEPTH, ChatCompletionRequest, nests_deeper_than
from tests.gateway.hardening.strategies import ROLES, chat_bodies, json_values


def validate(body: Any) -> ChatCompletionRequest | None:
    """The model, or None when validation refused the body (any other exception fails)."""
    try:
        return ChatCompletionRequest.model_validate(body)
    except ValidationError:
        return None


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_is_accepted_or_refused_cleanly(body: Any) -> None:
    validate(body)


@settings(max_examples=400, deadline=None)
@given(chat_bodies())
def test_accepted_bodies_are_forwardable_and_mean_what_they_say(generated: dict[str, Any]) -> None:
    body = orjson.loads(orjson.dumps(generated))  # as the gateway parses it off the wire
    chat = validate(body)
    if chat is None:
        return
    # The gateway forwards the client's own dict, with its upstream's model name.
    orjson.dumps({**body, "model": "upstream-name", "stream_options": {"include_usage": True}})
    assert chat.model == body["model"] and 1 <= len(chat.model) <= 256
    assert [m.role for m in chat.messages] == [m["role"] for m in body["messages"]]
    assert all(m.role in ROLES for m in chat.messages)
    for tool in chat.tools or []:
        assert tool.type != "function" or tool.function is not None
    if chat.stream_options is not None and chat.stream_options.include_usage is not None:
        assert isinstance(chat.stream_options.include_usage, bool)


def depth(value: Any) -> int:
    """Levels of objects/arrays, the obvious recursive way (reference for the check)."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(0, 6))
def test_nesting_check_agrees_with_the_recursive_definition(value: Any, limit: int) -> None:
    assert nests_deeper_than(value, limit) == (depth(value) > limit)


def wrapped(levels: int) -> dict[str, Any]:
    inner: Any = 1
    for _ in range(levels):
        inner = {"a": inner}
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
            "metadata": inner}


def test_bodies_nested_past_the_limit_are_refused_and_below_it_forwardable() -> None:
    assert validate(wrapped(MAX_JSON_DEPTH - 1)) is not None
    orjson.dumps(wrapped(MAX_JSON_DEPTH - 1))
    assert validate(wrapped(MAX_JSON_DEPTH)) is None  # the body itself is one more level
    # orjson parses 1024 levels but writes only 254: refused before it could reach the pool.
    deep = wrapped(400)
    assert validate(deep) is None
