"""Anthropic Messages <-> chat completions: a Messages request into a chat body, and back.

    system (string or text blocks)      -> a system message
    tool_use blocks (assistant)         -> tool_calls
    tool_result blocks (user)           -> tool messages, before the user's other blocks
    image blocks (base64 or url)        -> image_url parts
    tools / tool_choice                 -> function tools / auto, required, named, none
    finish_reason stop/length/tool_calls/content_filter
                                        -> end_turn/max_tokens/tool_use/refusal
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from gateway.entrypoints.messages_wire import CountTokensRequest, MessagesRequest
from gateway.errors import InvalidRequest

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "function_call": "tool_use", "content_filter": "refusal"}
SKIPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def new_message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def to_chat_body(request: CountTokensRequest) -> dict[str, Any]:
    """The chat-completions body asking what `request` asks."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": _system_content(request.system)})
    for i, message in enumerate(request.messages):
        where = f"messages.{i}.content"
        if isinstance(message.content, str):
            messages.append({"role": message.role, "content": message.content})
        elif message.role == "assistant":
            messages.append(_assistant(message.content, where))
        else:
            messages.extend(_user(message.content, where))
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.tools:
        body["tools"] = [_tool(t, i) for i, t in enumerate(request.tools)]
    if request.tool_choice:
        body.update(_tool_choice(request.tool_choice))
    if isinstance(request, MessagesRequest):
        body["max_completion_tokens"] = request.max_tokens
        if request.stop_sequences:
            body["stop"] = request.stop_sequences
        for name in ("temperature", "top_p"):
            if getattr(request, name) is not None:
                body[name] = getattr(request, name)
        user = (request.metadata or {}).get("user_id")
        if isinstance(user, str):
            body["user"] = user
    return body


def _system_content(system: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if isinstance(system, str):
        return system
    parts = []
    for i, block in enumerate(system):
        if block.get("type") != "text":
            raise InvalidRequest("`system` blocks must be of type text.", param=f"system.{i}")
        parts.append(_text_part(block))
    if any("cache_control" in p for p in parts):
        return parts  # cache breakpoints survive, for upstreams that honour them
    return "\n".join(p["text"] for p in parts)


def _text_part(block: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "text", "text": str(block.get("text") or "")}
    if block.get("cache_control"):
        part["cache_control"] = block["cache_control"]
    return part


def _assistant(blocks: list[dict[str, Any]], where: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "tool_use":
            calls.append({"id": _required(block, "id", f"{where}.{j}"), "type": "function",
                          "function": {"name": _required(block, "name", f"{where}.{j}"),
                                       "arguments": orjson.dumps(block.get("input") or {})
                                       .decode()}})
        elif kind not in SKIPPED_BLOCKS:
            raise InvalidRequest(f"`{where}.{j}.type` {kind!r} is not supported in an "
                                 "assistant turn (text, tool_use are).", param=f"{where}.{j}.type")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _user(blocks: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "tool_result":
            text = _result_text(block.get("content"), f"{where}.{j}.content")
            if block.get("is_error"):
                text = f"Error: {text}"
            results.append({"role": "tool", "content": text,
                            "tool_call_id": _required(block, "tool_use_id", f"{where}.{j}")})
        elif kind == "text":
            parts.append(_text_part(block))
        elif kind == "image":
            parts.append(_image(block, f"{where}.{j}"))
        else:
            raise InvalidRequest(f"`{where}.{j}.type` {kind!r} is not supported in a user "
                                 "turn (text, image, tool_result are).",
                                 param=f"{where}.{j}.type")
    if not parts:
        return results
    if all(p["type"] == "text" and "cache_control" not in p for p in parts):
        return [*results, {"role": "user", "content": "".join(p["text"] for p in parts)}]
    return [*results, {"role": "user", "content": parts}]


def _result_text(content: Any, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise InvalidRequest(f"`{where}` must be a string or a list of blocks.", param=where)
    texts = []
    for k, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise InvalidRequest(f"`{where}.{k}`: tool results may hold text blocks only.",
                                 param=f"{where}.{k}")
        texts.append(str(block.get("text") or ""))
    return "".join(texts)


def _image(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    source = source if isinstance(source, dict) else {}
    if source.get("type") == "base64" and source.get("data") and source.get("media_type"):
        url = f"data:{source['media_type']};base64,{source['data']}"
    elif source.get("type") == "url" and source.get("url"):
        url = str(source["url"])
    else:
        raise InvalidRequest(f"`{where}.source` must be base64 (media_type, data) or url.",
                             param=f"{where}.source")
    return {"type": "image_url", "image_url": {"url": url}}


def _required(block: dict[str, Any], key: str, where: str) -> str:
    value = block.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"`{where}.{key}` must be a non-empty string.",
                             param=f"{where}.{key}")
    return value


def _tool(tool: dict[str, Any], i: int) -> dict[str, Any]:
    if tool.get("type") not in (None, "custom"):
        raise InvalidRequest(f"`tools.{i}.type` {tool.get('type')!r} is not supported: server "
                             "tools run on Anthropic's side; this gateway serves custom tools.",
                             param=f"tools.{i}.type")
    function: dict[str, Any] = {"name": _required(tool, "name", f"tools.{i}"),
                                "parameters": tool.get("input_schema") or {"type": "object"}}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: dict[str, Any]) -> dict[str, Any]:
    kind = choice.get("type")
    out: dict[str, Any]
    if kind == "auto":
        out = {"tool_choice": "auto"}
    elif kind == "any":
        out = {"tool_choice": "required"}
    elif kind == "none":
        out = {"tool_choice": "none"}
    elif kind == "tool" and choice.get("name"):
        out = {"tool_choice": {"type": "function", "function": {"name": choice["name"]}}}
    else:
        raise InvalidRequest("`tool_choice.type` must be auto, any, tool (with name) or none.",
                             param="tool_choice")
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False
    return out


# -- the answer ---------------------------------------------------------------------------

def usage_object(usage: dict[str, Any] | None) -> dict[str, Any]:
    """Anthropic usage: `input_tokens` excludes cache reads and writes, reported apart."""
    usage = usage or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    return {"input_tokens": max(0, prompt - cached - written), "output_tokens":
            int(usage.get("completion_tokens") or 0),
            "cache_creation_input_tokens": written, "cache_read_input_tokens": cached}


def tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {"_arguments": arguments}  # a model's malformed JSON, kept for the caller
    return value if isinstance(value, dict) else {"_arguments": value}


def from_chat(chat: dict[str, Any], model: str) -> dict[str, Any]:
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if message.get("content"):
        content.append({"type": "text", "text": str(message["content"])})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or new_message_id(),
                        "name": function.get("name", ""),
                        "input": tool_input(function.get("arguments") or "")})
    return {"id": new_message_id(), "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": STOP_REASONS.get(
                choice.get("finish_reason") or "stop", "end_turn"),
            "stop_sequence": None, "usage": usage_object(chat.get("usage"))}
