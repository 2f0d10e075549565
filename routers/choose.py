"""Choosing one model from predicted (quality, cost) pairs under a tenant's policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routers.base import Policy


@dataclass(frozen=True, slots=True)
class Scored:
    model: str
    quality: float
    cost_usd: float


def rank(options: Sequence[Scored], policy: Policy) -> list[Scored]:
    """Options best-first under `policy`; ties go to the cheaper model."""
    if not options:
        return []
    if policy.objective == "max_utility":
        # λ is in quality points per USD per 1k requests, so knobs stay human-sized.
        lam = policy.knob * 1000.0
        return sorted(options, key=lambda o: (-(o.quality - lam * o.cost_usd), o.cost_usd))
    if policy.objective == "cheapest_within_eps":
        best = max(o.quality for o in options)
        within = [o for o in options if o.quality >= best - policy.knob]
        rest = [o for o in options if o.quality < best - policy.knob]
        return sorted(within, key=lambda o: (o.cost_usd, -o.quality)) + sorted(
            rest, key=lambda o: (-o.quality, o.cost_usd)
        )
    reaching = [o for o in options if o.quality >= policy.knob]
    short = [o for o in options if o.quality < policy.knob]
    return sorted(reaching, key=lambda o: (o.cost_usd, -o.quality)) + sorted(
        short, key=lambda o: (-o.quality, o.cost_usd)
    )


def describe(ranked: Sequence[Scored]) -> str:
    """`winner q=.. $..; runner-up q=.. $..` for the x-costroute-route header."""
    parts = [f"{o.model} q={o.quality:.3f} ${o.cost_usd:.6f}" for o in ranked[:2]]
    return "; runner-up ".join(parts)
