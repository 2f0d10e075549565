"""Parses a chat-completions body into the few fields the simulator acts on, or says why not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.simulator.errors import BadRequest

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MAX_STOP_SEQUENCES = 4
MAX_N = 128  # OpenAI's limit on `n`


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a chat request that change what the simulator answers."""

    model: str
    messages: list[Mapping[str, Any]]
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)
    n: int = 1


def parse_chat_request(raw: bytes) -> ChatRequest:
    """The request in `raw`, validated the way OpenAI validates it; raises `BadRequest`."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    stream = _optional(body, "stream", bool) or False
    n = _optional(body, "n", int)
    n = 1 if n is None else n
    if not 1 <= n <= MAX_N:
        raise BadRequest(f"'n' must be between 1 and {MAX_N}", param="n")
    return ChatRequest(
        model=_model(body),
        messages=_messages(body),
        stream=stream,
        include_usage=_include_usage(body, stream),
        max_tokens=_max_tokens(body),
        stop=_stop(body),
        n=n,
        body=body,
    )


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", param="model")
    return model


def _messages(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise BadRequest(
                f"messages[{index}] must be an object with a valid 'role'",
                param=f"messages.[{index}].role",
            )
    return messages


def _include_usage(body: Mapping[str, Any], stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not stream:
        raise BadRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    if not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object", param="stream_options")
    return _optional(options, "include_usage", bool, "stream_options.include_usage") or False


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    # `max_completion_tokens` replaced `max_tokens`; OpenAI honours whichever is given.
    for name in ("max_completion_tokens", "max_tokens"):
        value: int | None = _optional(body, name, int)
        if value is not None:
            if value < 1:
                raise BadRequest(f"'{name}' must be at least 1", param=name)
            return value
    return None


def _stop(body: Mapping[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise BadRequest("'stop' must be a string or an array of strings", param="stop")
    if len(stop) > MAX_STOP_SEQUENCES:
        raise BadRequest(f"'stop' accepts at most {MAX_STOP_SEQUENCES} sequences", param="stop")
    return tuple(stop)


def _optional(
    body: Mapping[str, Any], name: str, kind: type, param: str | None = None
) -> Any:
    value = body.get(name)
    if value is None:
        return None
    # bool is an int subclass; OpenAI rejects `"max_tokens": true`, so do we.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"'{param or name}' must be of type {kind.__name__}", param=param or name)
    return value
