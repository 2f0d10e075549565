"""Simulated tool calls: when a request forces a tool, the simulator calls it.

`tool_choice: "required"` calls the first function tool and `{"type": "function",
"function": {"name": N}}` calls N, with arguments made from the tool's JSON schema (each
required property gets a placeholder of its type). Any other request is answered in text.
The call id is derived from the conversation, so a replayed conversation is stable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

PLACEHOLDERS: dict[str, Any] = {"string": "simulated", "integer": 1, "number": 1.5,
                                "boolean": True, "array": [], "object": {}}


def forced_tool_call(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The tool call the request forces, in chat's `tool_calls[]` shape; None if none."""
    tools: list[Mapping[str, Any]] = []
    for entry in body.get("tools") or ():
        function = entry.get("function") if isinstance(entry, Mapping) else None
        if isinstance(function, Mapping) and function.get("name"):
            tools.append(function)
    choice = body.get("tool_choice")
    if not tools or choice in (None, "auto", "none"):
        return None
    tool: Mapping[str, Any] | None = None
    if choice == "required":
        tool = tools[0]
    elif isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        tool = next((t for t in tools if t.get("name") == name), None)
        if tool is None:
            return None
    else:
        return None
    arguments = orjson.dumps(placeholder_arguments(tool.get("parameters") or {})).decode()
    digest = hashlib.sha256(orjson.dumps([body.get("messages"), tool.get("name")])).hexdigest()
    return {"id": f"call_sim{digest[:20]}", "type": "function",
            "function": {"name": str(tool["name"]), "arguments": arguments}}


def placeholder_arguments(schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = schema.get("required") or list(properties)
    out: dict[str, Any] = {}
    for name in required:
        spec = properties.get(name) or {}
        enum = spec.get("enum")
        kind = spec.get("type")
        out[name] = enum[0] if enum else PLACEHOLDERS.get(kind if isinstance(kind, str)
                                                          else "string", "simulated")
    return out
