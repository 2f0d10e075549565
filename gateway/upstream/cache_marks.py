"""Anthropic's `cache_control` breakpoints, kept for Anthropic and dropped for OpenAI's wire.

The Messages entrypoint keeps `cache_control` on text parts so that the Anthropic upstream
can place its cache breakpoints (gateway/upstream/anthropic_translate.py). OpenAI-wire
upstreams do not know the field (OpenAI caches prefixes by itself) and a strict one refuses
the request, so the OpenAI-wire upstream strips it before sending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MARK = "cache_control"


def _marked(message: Any) -> bool:
    content = message.get("content") if isinstance(message, Mapping) else None
    return isinstance(content, list) and any(
        isinstance(part, Mapping) and MARK in part for part in content)


def without_cache_marks(messages: Sequence[Any]) -> Sequence[Any]:
    """`messages` with no `cache_control` on any content part: the same object when none had
    one (the common case, so nothing is copied), else a copy with those parts rewritten."""
    if not any(map(_marked, messages)):
        return messages
    return [{**m, "content": [{k: v for k, v in part.items() if k != MARK}
                              if isinstance(part, Mapping) else part
                              for part in m["content"]]} if _marked(m) else m
            for m in messages]
