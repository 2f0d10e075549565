"""MinionS job plans: declarative JSON the remote writes, read into tasks. Nothing is run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from routers.minions.parsing import as_text

RULE_KEYS = ("chunks", "keywords", "section")
ALL_CHUNKS: Mapping[str, Any] = {"chunks": "all"}


@dataclass(frozen=True, slots=True)
class Task:
    """One instruction for the workers, and which chunks it runs on."""

    instructions: str
    rule: Mapping[str, Any] = field(default_factory=lambda: dict(ALL_CHUNKS))

    def to_json(self) -> dict[str, Any]:
        return {"instructions": self.instructions, **self.rule}


def read_plan(value: Any, max_tasks: int) -> list[Task] | None:
    """The tasks in `{"tasks": [...]}` or a bare list; None when there is no usable task.

    A task's rule is its `select` object, or its own `chunks`/`keywords`/`section` keys,
    or every chunk. Tasks beyond `max_tasks` are dropped.
    """
    items = value.get("tasks") if isinstance(value, dict) else value
    if not isinstance(items, list):
        return None
    tasks = [t for t in (read_task(item) for item in items) if t is not None]
    return tasks[:max_tasks] or None


def read_task(item: Any) -> Task | None:
    if isinstance(item, str):
        return Task(item.strip()) if item.strip() else None
    if not isinstance(item, dict):
        return None
    instructions = as_text(item.get("instructions") or item.get("instruction")
                           or item.get("task"))
    if not instructions:
        return None
    select = item.get("select")
    source = select if isinstance(select, dict) else item
    rule = {k: source[k] for k in RULE_KEYS if k in source}
    return Task(instructions, rule or dict(ALL_CHUNKS))


def fallback_plan(question: str) -> list[Task]:
    """When the remote never writes a usable plan: ask every chunk the question itself."""
    return [Task(f"Find the information needed to answer: {question}")]
