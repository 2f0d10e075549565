"""Scripted stand-ins for the gateway's `CallModel`, a scorer and a start router."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import GatewayError
from pricing import Usage
from pricing.estimate import CostEstimate
from routers.base import Candidate, Decision, Policy, RouteRequest, StageResult
from routers.cascade.artifact import CascadeArtifact
from routers.cascade.strategy import Stage, Strategy

COST = {"small": 0.0001, "medium": 0.0006, "large": 0.003}
THREE = Strategy((Stage("small", 0.6), Stage("medium", 0.5), Stage("large")), 0.8, 0.001)


@dataclass
class FakeCalls:
    """Answers `"<model> answer"`; models in `fail` raise their exception instead."""

    fail: dict[str, GatewayError] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(
        self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]
    ) -> StageResult:
        self.calls.append(model)
        self.params.append(dict(params))
        if model in self.fail:
            raise self.fail[model]
        response = {"choices": [{"message": {"role": "assistant", "content": f"{model} answer"}}]}
        return StageResult(model, response, Usage(10, 5), COST.get(model, 0.001), "remote")


@dataclass
class FakeScorer:
    """Scores each model's answer with a fixed number."""

    scores: dict[str, float]
    seen: list[tuple[str, str]] = field(default_factory=list)

    def score_chat(self, model: str, messages: Sequence[Mapping[str, Any]], answer: str) -> float:
        self.seen.append((model, answer))
        return self.scores[model]


@dataclass
class FakeRouter:
    """Always picks `pick` (when it is a candidate)."""

    pick: str
    name: str = "fake"

    def route(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> Decision:
        model = self.pick if any(c.model == self.pick for c in candidates) else candidates[0].model
        return Decision(model, "scripted", 0.0)


def candidates(models: Sequence[str] = ("small", "medium", "large")) -> list[Candidate]:
    return [
        Candidate(
            m,
            "remote",
            CostEstimate(m, 10, 5, 50, COST.get(m, 0.001), COST.get(m, 0.001) * 3, False),
        )
        for m in models
    ]


def artifact(strategy: Strategy = THREE, pareto: Sequence[Strategy] = ()) -> CascadeArtifact:
    singles = {"small": 0.55, "medium": 0.7, "large": 0.88}
    return CascadeArtifact(
        heads={},
        strategy=strategy,
        pareto=list(pareto) or [strategy],
        manifest={
            "metrics": {
                "single_models": {
                    m: {"accuracy": a, "cost_usd": COST[m]} for m, a in singles.items()
                }
            }
        },
    )
