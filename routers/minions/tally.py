"""Remote and local spend of one protocol run, kept apart, plus the event trace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from routers.base import StageResult, Tier


@dataclass
class TierTotals:
    """Calls, tokens and USD of one tier (local or remote)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, stage: StageResult) -> None:
        self.calls += 1
        self.prompt_tokens += stage.usage.prompt_tokens
        self.completion_tokens += stage.usage.completion_tokens
        self.cost_usd += stage.cost_usd

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost_usd": round(self.cost_usd, 10)}


@dataclass
class Tally:
    """Every stage a run made, per-tier totals, and trace events (never shown by default)."""

    stages: list[StageResult] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    tiers: dict[Tier, TierTotals] = field(
        default_factory=lambda: {"remote": TierTotals(), "local": TierTotals()})

    def record(self, stage: StageResult) -> StageResult:
        self.stages.append(stage)
        self.tiers[stage.tier].add(stage)
        return stage

    def event(self, kind: str, **facts: Any) -> None:
        self.events.append({"event": kind, **facts})

    def summary(self, protocol: str, rounds: int, **facts: Any) -> dict[str, Any]:
        """The trace entry the gateway shows in `x-costroute-route` (`summary`) and logs."""
        remote, local = self.tiers["remote"], self.tiers["local"]
        line = (f"{protocol}: {rounds} round(s), remote {remote.calls} call(s) "
                f"{remote.prompt_tokens + remote.completion_tokens} tok "
                f"${remote.cost_usd:.6f}, local {local.calls} call(s) "
                f"{local.prompt_tokens + local.completion_tokens} tok ${local.cost_usd:.6f}")
        return {"summary": line, "protocol": protocol, "rounds": rounds,
                "remote": remote.to_json(), "local": local.to_json(), **facts}

    def trace(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [dict(summary), *self.events]
