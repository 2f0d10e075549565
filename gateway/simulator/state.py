"""What tests steer and read through `/_simulator/*`: scripts, request counts, recent requests.

All of it lives on one `Simulator` instance and is only touched from the server's event loop,
so it needs no locks.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class ScriptBook:
    """Per-model queues of exact answers, returned in order before normal answering resumes."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[str]] = {}

    def push(self, model: str, responses: Iterable[str]) -> None:
        self._queues.setdefault(model, deque()).extend(responses)

    def pop(self, model: str) -> str | None:
        queue = self._queues.get(model)
        return queue.popleft() if queue else None

    def clear(self, model: str | None = None) -> None:
        if model is None:
            self._queues.clear()
        else:
            self._queues.pop(model, None)

    def pending(self) -> dict[str, int]:
        return {model: len(queue) for model, queue in self._queues.items() if queue}


@dataclass(frozen=True)
class RequestRecord:
    """One chat request as the simulator saw it, for tests to inspect."""

    model: str
    body: Mapping[str, Any]
    status: int | None  # None: no HTTP status was sent (reset, timeout)
    fault: str | None
    source: str | None
    authorization: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "body": dict(self.body),
            "status": self.status,
            "fault": self.fault,
            "source": self.source,
            "authorization": self.authorization,
        }


class Stats:
    """Counts of chat requests per model and of faults served, plus the latest requests."""

    def __init__(self, keep_recent: int = 100):
        self._requests: Counter[str] = Counter()
        self._faults: dict[str, Counter[str]] = {}
        self._recent: deque[RequestRecord] = deque(maxlen=keep_recent)

    def record(self, entry: RequestRecord) -> None:
        self._requests[entry.model] += 1
        if entry.fault is not None:
            self._faults.setdefault(entry.model, Counter())[entry.fault] += 1
        self._recent.append(entry)

    def requests(self, model: str) -> int:
        return self._requests[model]

    def reset(self) -> None:
        self._requests.clear()
        self._faults.clear()
        self._recent.clear()

    def to_json(self) -> dict[str, Any]:
        return {
            "total": sum(self._requests.values()),
            "requests": dict(self._requests),
            "faults": {model: dict(kinds) for model, kinds in self._faults.items()},
            "recent": [entry.to_json() for entry in self._recent],
        }
