"""The remote's decisions (ask more, or answer) and the final answer given to the client."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from routers.base import StageResult
from routers.minions.parsing import as_text, first_json_object
from routers.minions.plan import Task, read_plan

FINAL = "provide_final_answer"
NO_ANSWER = "Sorry, no answer could be reached for this request."


@dataclass(frozen=True, slots=True)
class RemoteTurn:
    """What the remote decided: a final answer, or a request (question or feedback)."""

    final: bool
    answer: str = ""
    request: str = ""  # Minion: the question for the local model; MinionS: feedback
    tasks: list[Task] | None = None  # MinionS: tasks for the next round, if given


def read_turn(value: Any, *, must_answer: bool, max_tasks: int = 0) -> RemoteTurn | None:
    """The turn in a parsed reply; None when it is unusable (the caller retries)."""
    if not isinstance(value, dict):
        return None
    answer = as_text(value.get("answer"))
    decision = as_text(value.get("decision")).lower()
    if answer and (decision == FINAL or must_answer or not decision):
        return RemoteTurn(final=True, answer=answer)
    if must_answer:
        return None
    request = as_text(value.get("message") or value.get("feedback") or value.get("question"))
    tasks = read_plan(value, max_tasks) if max_tasks else None
    if request or tasks:
        return RemoteTurn(final=False, request=request, tasks=tasks)
    return None


def fallback_answer(text: str) -> str:
    """The answer in a reply that never became a valid turn: its `answer` field, or its
    prose when it holds no JSON at all; otherwise a plain admission that there is none."""
    value = first_json_object(text)
    if value is None:
        return text.strip() or NO_ANSWER
    return as_text(value.get("answer")) or NO_ANSWER


def as_final(stage: StageResult, answer: str) -> StageResult:
    """`stage` with its reply's content replaced by the plain `answer` the client gets."""
    response: dict[str, Any] = dict(stage.response)
    choices = list(response.get("choices") or [{"index": 0}])
    first = dict(choices[0])
    message = dict(first.get("message") or {"role": "assistant"})
    message["content"] = answer
    first["message"] = message
    first.setdefault("finish_reason", "stop")
    response["choices"] = [first, *choices[1:]]
    return replace(stage, response=response)
