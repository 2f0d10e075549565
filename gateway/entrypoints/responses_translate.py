"""Responses API <-> chat completions: a create request into a chat body, an answer back.

Stateless: nothing is stored, so `previous_response_id`, `conversation` and item
references cannot be served (each is refused with a 400 naming it), and `store` is
answered as false.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from gateway.entrypoints.responses_wire import ResponsesRequest
from gateway.errors import InvalidRequest

TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
ROLES = frozenset({"user", "assistant", "system", "developer"})


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def to_chat_body(request: ResponsesRequest) -> dict[str, Any]:
    """The chat-completions body that asks the same question."""
    _refuse_state(request)
    body: dict[str, Any] = {"model": request.model, "messages": _messages(request)}
    if request.tools:
        body["tools"] = [_tool(t, i) for i, t in enumerate(request.tools)]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    if request.parallel_tool_calls is not None and request.tools:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    for ours, theirs in (("max_output_tokens", "max_completion_tokens"),
                         ("temperature", "temperature"), ("top_p", "top_p"), ("user", "user")):
        value = getattr(request, ours)
        if value is not None:
            body[theirs] = value
    if request.top_logprobs:
        body["logprobs"], body["top_logprobs"] = True, request.top_logprobs
    response_format = _response_format(request.text)
    if response_format is not None:
        body["response_format"] = response_format
    effort = (request.reasoning or {}).get("effort")
    if effort is not None and not isinstance(effort, str):
        raise InvalidRequest("`reasoning.effort` must be a string.", param="reasoning.effort")
    if effort is not None:
        body["reasoning_effort"] = effort
    return body


def _refuse_state(request: ResponsesRequest) -> None:
    if request.previous_response_id is not None:
        raise InvalidRequest(
            "`previous_response_id` is not supported: this gateway is stateless and stores no "
            "responses (store=false). Send the whole conversation in `input` instead.",
            param="previous_response_id", code="unsupported_parameter")
    if request.conversation is not None:
        raise InvalidRequest("`conversation` is not supported: this gateway stores no "
                             "conversations.", param="conversation",
                             code="unsupported_parameter")
    if request.background:
        raise InvalidRequest("`background` responses are not supported.", param="background",
                             code="unsupported_parameter")


def _messages(request: ResponsesRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    if isinstance(request.input, str):
        messages.append({"role": "user", "content": request.input})
        return messages
    for i, item in enumerate(request.input):
        _add_item(messages, item, f"input[{i}]")
    if not any(m["role"] != "system" for m in messages):
        raise InvalidRequest("`input` holds no message to answer.", param="input")
    return messages


def _add_item(messages: list[dict[str, Any]], item: dict[str, Any], where: str) -> None:
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        if role not in ROLES:
            raise InvalidRequest(f"`{where}.role` must be one of {sorted(ROLES)}.",
                                 param=f"{where}.role")
        messages.append({"role": role, "content": _content(item.get("content"), where, role)})
    elif kind == "function_call":
        call = {"id": _text(item, "call_id", where), "type": "function",
                "function": {"name": _text(item, "name", where),
                             "arguments": str(item.get("arguments") or "")}}
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)  # parallel calls of one turn
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else _joined(output, f"{where}.output")
        messages.append({"role": "tool", "tool_call_id": _text(item, "call_id", where),
                         "content": text})
    elif kind == "reasoning":
        return  # a model's own reasoning cannot be replayed to a chat upstream
    elif kind == "item_reference":
        raise InvalidRequest("Item references need stored items; this gateway stores none.",
                             param=where, code="unsupported_parameter")
    else:
        raise InvalidRequest(f"`{where}.type` {kind!r} is not supported (message, "
                             "function_call, function_call_output are).", param=f"{where}.type")


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"`{where}.{key}` must be a non-empty string.",
                             param=f"{where}.{key}")
    return value


def _content(content: Any, where: str, role: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"`{where}.content` must be a string or a list of parts.",
                             param=f"{where}.content")
    parts = [_part(p, f"{where}.content[{j}]") for j, p in enumerate(content)]
    if role != "user" or all(p["type"] == "text" for p in parts):
        # Assistant and system turns take text only on most chat upstreams.
        return "".join(str(p.get("text", "")) for p in parts)
    return parts


def _part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in TEXT_PARTS:
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal") or "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise InvalidRequest(f"`{where}.image_url` is required (file_id images need the "
                                 "Files API, which this gateway does not serve).",
                                 param=f"{where}.image_url")
        return {"type": "image_url",
                "image_url": {"url": url, "detail": part.get("detail") or "auto"}}
    raise InvalidRequest(f"`{where}.type` {kind!r} is not supported (input_text, "
                         "input_image, output_text are).", param=f"{where}.type")


def _joined(parts: Any, where: str) -> str:
    if not isinstance(parts, list):
        raise InvalidRequest(f"`{where}` must be a string or a list of parts.", param=where)
    return "".join(str(_part(p, f"{where}[{j}]").get("text", "")) for j, p in enumerate(parts))


def _tool(tool: dict[str, Any], i: int) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise InvalidRequest(
            f"`tools[{i}].type` {tool.get('type')!r} is not supported: built-in tools need "
            "OpenAI's own servers; this gateway serves function tools.",
            param=f"tools[{i}].type", code="unsupported_tool")
    function: dict[str, Any] = {"name": _text(tool, "name", f"tools[{i}]")}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, str) and choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise InvalidRequest("`tool_choice` must be auto, none, required or "
                         "{type: function, name}.", param="tool_choice")


def _response_format(text: dict[str, Any] | None) -> dict[str, Any] | None:
    fmt = (text or {}).get("format")
    if fmt is not None and not isinstance(fmt, dict):
        raise InvalidRequest("`text.format` must be an object.", param="text.format")
    if not fmt or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    raise InvalidRequest("`text.format.type` must be text, json_object or json_schema.",
                         param="text.format.type")


# -- the answer ---------------------------------------------------------------------------

def usage_object(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    if not usage:
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    reasoning = int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + completion}


def status_of(finish_reason: str | None) -> tuple[str, dict[str, Any] | None]:
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def call_item(item_id: str, call: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    function = call.get("function") or {}
    return {"type": "function_call", "id": item_id, "call_id": call.get("id") or item_id,
            "name": function.get("name", ""), "arguments": function.get("arguments") or "",
            "status": status}


def output_items(chat: dict[str, Any]) -> list[dict[str, Any]]:
    choices = chat.get("choices") or [{}]
    message = choices[0].get("message") or {}
    items: list[dict[str, Any]] = []
    content = message.get("content")
    if content:
        items.append(message_item(new_id("msg"), str(content)))
    for call in message.get("tool_calls") or ():
        items.append(call_item(new_id("fc"), call))
    return items


def response_object(request: ResponsesRequest, response_id: str, model: str, *,
                    status: str, output: list[dict[str, Any]],
                    usage: dict[str, Any] | None = None,
                    incomplete: dict[str, Any] | None = None,
                    error: dict[str, Any] | None = None,
                    created_at: int | None = None) -> dict[str, Any]:
    """A `response` object echoing the request's settings, as OpenAI returns it."""
    return {
        "id": response_id, "object": "response", "created_at": created_at or int(time.time()),
        "status": status, "error": error, "incomplete_details": incomplete,
        "instructions": request.instructions, "max_output_tokens": request.max_output_tokens,
        "model": model, "output": output,
        "parallel_tool_calls": True if request.parallel_tool_calls is None
        else request.parallel_tool_calls,
        "previous_response_id": None, "reasoning": request.reasoning or {"effort": None},
        "store": False, "temperature": 1.0 if request.temperature is None
        else request.temperature,
        "text": request.text or {"format": {"type": "text"}},
        "tool_choice": request.tool_choice or "auto", "tools": request.tools or [],
        "top_p": 1.0 if request.top_p is None else request.top_p, "truncation": "disabled",
        "usage": usage, "user": request.user, "metadata": request.metadata or {},
    }


def from_chat(request: ResponsesRequest, chat: dict[str, Any], model: str) -> dict[str, Any]:
    """The `response` object of a finished (non-streaming) chat answer."""
    choices = chat.get("choices") or [{}]
    status, incomplete = status_of(choices[0].get("finish_reason"))
    return response_object(request, new_id("resp"), model, status=status,
                           output=output_items(chat), usage=usage_object(chat.get("usage")),
                           incomplete=incomplete)
