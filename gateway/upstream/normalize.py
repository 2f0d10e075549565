"""Turn whatever error body an upstream sends into one message string.

OpenAI sends `{"error": {"message", "type", "code"}}`; vLLM sends integer codes and sometimes
`{"error": "Unauthorized"}`; others send `{"detail": ...}`, `{"message": ...}` or HTML.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_MESSAGE_CHARS = 500


def error_message(status: int, content: bytes) -> str:
    try:
        data: Any = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        data = None
    message = _message_from(data) if data is not None else None
    if not message:
        text = content.decode("utf-8", "replace").strip()
        message = text if text and not text.startswith("<") else f"HTTP {status}"
    return " ".join(message.split())[:MAX_MESSAGE_CHARS]


def _message_from(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        return _message_from(error.get("message")) or _message_from(error.get("code"))
    if isinstance(error, str):
        return error
    for key in ("message", "detail", "msg"):
        value = data.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value:
            return "; ".join(str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(data.get("code"), (int, str)):
        return f"error code {data['code']}"
    return None


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: rare from LLM APIs; fall back to our own backoff
