"""Tolerant reading of model replies that were asked to be JSON.

Small models wrap JSON in prose or code fences, use single quotes, or stop mid-object. We
take the first JSON value that decodes (object or array), after stripping fences; nothing
here raises on malformed text, it returns None and the caller retries or falls back.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
MAX_STARTS = 32  # bounds the work on a long reply full of stray brackets


def first_json(text: str) -> Any | None:
    """The first JSON object or array in `text`, or None when there is none."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        value = _scan(candidate)
        if value is not None:
            return value
    return None


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` (a list's first object counts), or None."""
    value = first_json(text)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) else None


def _scan(text: str) -> Any | None:
    decoder = json.JSONDecoder()
    starts = [i for i, char in enumerate(text) if char in "{["][:MAX_STARTS]
    for start in starts:
        for attempt in (text[start:], _repair(text[start:])):
            try:
                value, _ = decoder.raw_decode(attempt)
            except (ValueError, RecursionError):
                continue
            if isinstance(value, (dict, list)):
                return value
    return None


def _repair(text: str) -> str:
    """Fixes the two slips models make most: trailing commas and missing closing brackets."""
    fixed = _TRAILING_COMMA.sub(r"\1", text)
    in_string = escaped = False
    closers: list[str] = []
    for char in fixed:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]" and closers:
            closers.pop()
            if not closers:
                return fixed
    return fixed + ('"' if in_string else "") + "".join(reversed(closers))


def as_text(value: Any) -> str:
    """A JSON field as plain text: strings stripped, None empty, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)
