"""Routers that need no training: fixed, cheapest-allowed, and a price/quality table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routers.base import Candidate, Decision, Policy, RouteRequest
from routers.choose import Scored, describe, rank


@dataclass
class FixedRouter:
    """Always the configured model, if the tenant may use it; else the cheapest allowed."""

    model: str
    name: str = "fixed"

    def route(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> Decision:
        for candidate in candidates:
            if candidate.model == self.model:
                return Decision(
                    model=self.model,
                    reason=f"fixed: {self.model}",
                    predicted_cost_usd=candidate.estimate.expected_cost_usd,
                )
        cheapest = min(candidates, key=lambda c: c.estimate.expected_cost_usd)
        return Decision(
            model=cheapest.model,
            reason=f"fixed model {self.model} not available; cheapest allowed",
            predicted_cost_usd=cheapest.estimate.expected_cost_usd,
        )


@dataclass
class CheapestRouter:
    """The candidate with the lowest expected cost for this very prompt."""

    name: str = "cheapest"

    def route(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> Decision:
        ordered = sorted(candidates, key=lambda c: (c.estimate.expected_cost_usd, c.model))
        winner = ordered[0]
        runner = ordered[1].model if len(ordered) > 1 else None
        return Decision(
            model=winner.model,
            reason=f"cheapest: {winner.model} ${winner.estimate.expected_cost_usd:.6f}",
            predicted_cost_usd=winner.estimate.expected_cost_usd,
            runner_up=runner,
        )


@dataclass
class TableRouter:
    """Static per-model quality scores traded against this prompt's estimated cost."""

    quality: Mapping[str, float]
    default_quality: float = 0.5
    name: str = "table"

    def route(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> Decision:
        options = [
            Scored(c.model, self.quality.get(c.model, self.default_quality),
                   c.estimate.expected_cost_usd)
            for c in candidates
        ]
        ranked = rank(options, policy)
        winner = ranked[0]
        return Decision(
            model=winner.model,
            reason=f"table {policy.objective}({policy.knob:g}): {describe(ranked)}",
            predicted_cost_usd=winner.cost_usd,
            predicted_quality=winner.quality,
            runner_up=ranked[1].model if len(ranked) > 1 else None,
        )
