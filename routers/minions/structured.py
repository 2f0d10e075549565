"""Asking a model for a structured reply: parse tolerantly, retry with a correction, give up
gracefully (the caller decides the fallback; nothing here raises on malformed output)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from routers.base import CallModel
from routers.minions.parsing import first_json
from routers.minions.tally import Tally

T = TypeVar("T")

CORRECTION = (
    "Your last reply could not be read: {problem}. Reply again with only the JSON described"
    " above, and no other text."
)


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    """A model's reply: the parsed value (None when every attempt was malformed) and text."""

    value: T | None
    text: str
    attempts: int


async def ask_structured(
    call: CallModel,
    tally: Tally,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    read: Callable[[Any], T | None],
    retries: int,
    label: str,
) -> Reply[T]:
    """Calls `model` until `read(first JSON in the reply)` accepts it, at most `retries` more
    times. Each retry shows the model its malformed reply and says what was wrong."""
    conversation = list(messages)
    text = ""
    for attempt in range(1, retries + 2):
        stage = tally.record(await call(model, conversation, params))
        text = stage.text
        parsed = first_json(text)
        value = read(parsed) if parsed is not None else None
        if value is not None:
            return Reply(value, text, attempt)
        problem = "it contained no JSON" if parsed is None else "the JSON lacked required fields"
        tally.event("malformed", stage=label, model=model, attempt=attempt, problem=problem)
        conversation = [*messages, {"role": "assistant", "content": text},
                        {"role": "user", "content": CORRECTION.format(problem=problem)}]
    return Reply(None, text, retries + 1)
