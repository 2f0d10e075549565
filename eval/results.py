"""The result of a replay, as plain dataclasses the report writers read."""

from __future__ import annotations

from dataclasses import dataclass, field

from eval.metrics import Counterfactual, Interval
from eval.paired import AiqDifference
from eval.sweep import CandidateKind


@dataclass(frozen=True, slots=True)
class Point:
    """One knob setting of a candidate: what it costs and scores on average."""

    knob: float | None
    mean_cost_usd: float
    accuracy: float
    strong_fraction: float | None = None


@dataclass(frozen=True, slots=True)
class CandidateResult:
    """A candidate on one scope (a task, or pooled).

    The headline numbers come from the point with the lowest cost-of-pass (`headline_knob`);
    a single model has just one point.
    """

    name: str
    kind: CandidateKind
    accuracy: float
    mean_cost_usd: float
    cost_of_pass_usd: float
    aiq: float
    headline_knob: float | None
    points: list[Point]
    accuracy_ci: Interval
    mean_cost_ci: Interval
    cost_of_pass_ci: Interval
    apgr: float | None = None
    cpt: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class FrontierReport:
    """Frontier cost-of-pass of a scope, over the models and over every candidate.

    `solved_only_usd` averages over the problems some model (or the expert) solves; it is
    not the paper's measure, which is infinite once any problem is unsolved, but it stays
    informative when no human-expert cost is configured.
    """

    cost_of_pass_usd: float
    n_unsolved: int
    human_cost_usd: float | None
    attained_by: dict[str, float]
    with_candidates_usd: float
    solved_only_usd: float = float("nan")
    counterfactual: list[Counterfactual] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LanguagePremium:
    """How much one language's prompts cost a candidate relative to the base language."""

    candidate: str
    language: str
    n_prompts: int
    accuracy: float
    mean_cost_usd: float
    cost_of_pass_usd: float
    cost_premium: float
    cost_of_pass_premium: float


@dataclass(frozen=True, slots=True)
class ScopeResult:
    """Every candidate and the frontier on one task, or on all prompts pooled."""

    task: str
    n_prompts: int
    candidates: list[CandidateResult]
    frontier: FrontierReport
    aiq_cost_range: tuple[float, float]
    weak_strong: tuple[str, str] | None = None
    language_premium: list[LanguagePremium] = field(default_factory=list)
    # Pooled scope only: each router's AIQ gain over the per-task lookup, paired bootstrap.
    versus_lookup: list[AiqDifference] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DatasetResult:
    """A dataset's replay: pooled, and per task."""

    name: str
    n_prompts: int
    models: list[str]
    pooled: ScopeResult
    tasks: list[ScopeResult]
    notes: list[str] = field(default_factory=list)
