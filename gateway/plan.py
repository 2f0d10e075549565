"""What the pipeline decides for one request, and the finished answer it returns.

Apart from gateway/serving.py so that the stream relay, the entrypoints and the record capture
can name them without importing the service that makes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pricing import CostEstimate
from routers.base import Decision, StageResult


@dataclass(frozen=True, slots=True)
class Plan:
    """Where one request goes: the answering chain, and what to reserve for it."""

    route: str
    chain: Sequence[str]
    reserve_usd: float
    estimate: CostEstimate
    reason: str
    cheaper: Sequence[tuple[str, CostEstimate]] = ()
    # Every chain model's estimate: a fallback tops the hold up to its own worst case.
    chain_estimates: Mapping[str, CostEstimate] = field(default_factory=dict)
    decision: Decision | None = None


@dataclass
class ChatReply:
    """A finished non-streaming answer and the facts for its headers."""

    body: dict[str, Any]
    model: str
    cost_usd: float
    estimated: bool
    route: str
    stages: list[StageResult] = field(default_factory=list)
    trace: list[Mapping[str, Any]] = field(default_factory=list)
