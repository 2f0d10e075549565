"""The normal form of a chat-completion request, and the cache keys derived from it.

Two requests share an exact-cache key when they ask the same model the same messages with
the same sampling parameters, for the same tenant. Fields that do not change the answer
(streaming, the end-user id, metadata) are left out; every other field is kept, so a new
OpenAI parameter can only split the cache, never merge requests that differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from routers.datasets.text import final_question, normalise

# Fields that do not change the completion.
IGNORED_FIELDS = frozenset({"stream", "stream_options", "user", "metadata", "store"})
# OpenAI's default: a request without `temperature` samples at 1.
DEFAULT_TEMPERATURE = 1.0
MESSAGE_FIELDS = ("role", "content", "name", "tool_calls", "tool_call_id")


def normal_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages with only the fields that reach the model, string contents trimmed."""
    out: list[dict[str, Any]] = []
    for message in messages:
        item = {k: message[k] for k in MESSAGE_FIELDS if message.get(k) is not None}
        if isinstance(item.get("content"), str):
            item["content"] = item["content"].strip()
        out.append(item)
    return out


def normal_params(body: Mapping[str, Any]) -> dict[str, Any]:
    """Every answer-changing field but the messages; None values are dropped."""
    return {
        k: v
        for k, v in body.items()
        if k not in IGNORED_FIELDS and k != "messages" and v is not None
    }


def digest(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of `value` (sorted keys)."""
    blob = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.sha256(blob).hexdigest()


def exact_key(tenant: str, body: Mapping[str, Any]) -> str:
    """The exact-cache key of `body` for `tenant`."""
    return digest(
        {
            "tenant": tenant,
            "params": normal_params(body),
            "messages": normal_messages(body.get("messages") or []),
        }
    )


def temperature(body: Mapping[str, Any]) -> float:
    value = body.get("temperature")
    return DEFAULT_TEMPERATURE if value is None else float(value)


def conversation_turns(messages: Sequence[Mapping[str, Any]]) -> int:
    """Non-system messages: 1 for a single question, more for a multi-turn chat."""
    return sum(1 for m in messages if m.get("role") not in ("system", "developer"))


def split_last_question(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, question): what a semantic match compares, and what must match exactly.

    The question is the final open question of the last user message (few-shot examples
    before it stripped). The namespace is everything else: tenant-independent parameters,
    the other messages and the stripped examples. None when there is no user message or it
    is not plain text.
    """
    messages = normal_messages(body.get("messages") or [])
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last is None or not isinstance(messages[last].get("content"), str):
        return None
    text = messages[last]["content"]
    question = final_question(text).strip()
    # final_question returns a stripped tail of `text`, or `text` itself.
    examples = text[: len(text) - len(question)] if question != text else ""
    context = messages[:last] + messages[last + 1 :]
    namespace = digest(
        {
            "params": normal_params(body),
            "context": context,
            "examples": normalise(examples),
            "position": last,
        }
    )
    return namespace, question
