"""Reading the chat stream chunks that the Messages and Responses streams translate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def first_choice(chunk: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(choice, its delta) for choice 0 of a chat stream chunk: a Message or a Response has
    one output, so the other choices of an n > 1 upstream stream are not translated."""
    for choice in chunk.get("choices") or ():
        if choice.get("index", 0) == 0:
            yield choice, choice.get("delta") or {}
