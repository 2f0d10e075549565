"""Chat completions <-> Anthropic Messages, for the native Anthropic upstream adapter.

A chat body becomes a Messages body (system prompts, tools and tool results, images,
`cache_control` on text parts kept), and a Message becomes a chat completion whose usage
carries Anthropic's cache reads and writes as `prompt_tokens_details.cached_tokens` and
`cache_write_tokens`, so each is priced at its own catalog rate.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

DEFAULT_MAX_TOKENS = 4096  # Messages requires max_tokens; chat does not
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "tool_use": "tool_calls", "refusal": "content_filter", "pause_turn": "stop"}


def to_messages_body(body: Mapping[str, Any], model: str, *, stream: bool) -> dict[str, Any]:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in body.get("messages") or ():
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system += _blocks(content)
        elif role == "user":
            _append(messages, "user", _blocks(content))
        elif role == "assistant":
            blocks = [b for b in _blocks(content) if b.get("type") != "text" or b["text"]]
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                blocks.append({"type": "tool_use", "id": call.get("id"),
                               "name": function.get("name"),
                               "input": tool_input(function.get("arguments") or "")})
            _append(messages, "assistant", blocks)
        elif role in ("tool", "function"):
            text = "".join(b.get("text", "") for b in _blocks(content))
            _append(messages, "user", [{"type": "tool_result",
                                        "tool_use_id": message.get("tool_call_id"),
                                        "content": text}])
    out: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": int(
        body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS)}
    if system:
        out["system"] = system
    if body.get("temperature") is not None:
        out["temperature"] = min(1.0, float(body["temperature"]))  # Anthropic's range is 0-1
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = [_tool(t) for t in body["tools"] if t.get("type") == "function"]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and body.get("tools"):
        out["tool_choice"] = choice
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if stream:
        out["stream"] = True
    return out


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Adds a turn; Messages wants roles to alternate, so a same-role turn is merged."""
    if not blocks:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": list(blocks)})


def _blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            block: dict[str, Any] = {"type": "text", "text": str(part.get("text") or "")}
            if part.get("cache_control"):
                block["cache_control"] = part["cache_control"]
            blocks.append(block)
        elif kind == "image_url":
            blocks.append(_image((part.get("image_url") or {}).get("url") or ""))
    return blocks


def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                            "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    out = {"name": function.get("name"),
           "input_schema": function.get("parameters") or {"type": "object"}}
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    if choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, Mapping) and (choice.get("function") or {}).get("name"):
        out = {"type": "tool", "name": choice["function"]["name"]}
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


def tool_input(arguments: str) -> Any:
    try:
        return orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}


def chat_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic usage (input excludes cache reads and writes) as chat usage (includes)."""
    read = int(usage.get("cache_read_input_tokens") or 0)
    write = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + read + write
    completion = int(usage.get("output_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write}}


def to_chat_completion(message: Mapping[str, Any]) -> dict[str, Any]:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or ():
        if block.get("type") == "text":
            text.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            calls.append({"id": block.get("id"), "type": "function", "function": {
                "name": block.get("name"),
                "arguments": orjson.dumps(block.get("input") or {}).decode()}})
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        reply["tool_calls"] = calls
    return {"id": f"chatcmpl-{message.get('id', '')}", "object": "chat.completion",
            "created": int(time.time()), "model": message.get("model", ""),
            "choices": [{"index": 0, "message": reply, "logprobs": None,
                         "finish_reason": FINISH_REASONS.get(
                             str(message.get("stop_reason")), "stop")}],
            "usage": chat_usage(message.get("usage") or {})}
