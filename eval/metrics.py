"""Accuracy, cost and cost-of-pass of recorded outcomes, with bootstrap intervals, and the
frontier cost-of-pass of a set of candidates (Erol et al., "Cost-of-Pass", 2025).

Every function takes per-prompt arrays: `scores` in [0, 1] and `costs` in USD, NaN where the
outcome is unknown. Unknown outcomes are left out of means rather than counted as wrong,
because a missing record says nothing about the model.

Cost-of-pass follows the paper's estimator: per problem p and candidate m,
v(m, p) = C_m(p) / R_m(p) (infinite when R_m(p) = 0); the frontier of a problem is the
minimum over candidates and an optional human-expert cost; the frontier of a task is the mean
of its problems' frontiers, which is infinite if any problem is left unsolved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from eval.types import FloatArray, IntArray

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
HUMAN = -1  # `FrontierResult.best` value for problems the human expert is cheapest on
NOBODY = -2  # ... and for problems nobody solves


def mean_known(values: FloatArray) -> float:
    """Mean over the known (non-NaN) entries; NaN when none is known."""
    known = values[~np.isnan(values)]
    return float(known.mean()) if known.size else math.nan


def cost_of_pass(mean_cost_usd: float, accuracy: float) -> float:
    """Expected USD per correct answer, C / R: infinite when R = 0, NaN when unknown."""
    if math.isnan(mean_cost_usd) or math.isnan(accuracy):
        return math.nan
    if accuracy <= 0.0:
        return math.inf
    return mean_cost_usd / accuracy


def format_usd(value: float) -> str:
    """A USD amount for people: "∞" when infinite, "n/a" when unknown."""
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "n/a"
    if value != 0.0 and abs(value) < 1e-3:
        return f"${value:.3e}"
    return f"${value:.4f}"


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided bootstrap confidence interval."""

    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Summary:
    """Accuracy R, mean cost C and cost-of-pass C/R of one candidate, with intervals."""

    n: int
    n_known: int
    accuracy: float
    mean_cost_usd: float
    cost_of_pass_usd: float
    accuracy_ci: Interval
    mean_cost_ci: Interval
    cost_of_pass_ci: Interval


def resample_means(
    values: FloatArray, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, chunk: int = 64
) -> FloatArray:
    """(n_resamples, k) NaN-aware column means of `values` (n, k) over bootstrap resamples.

    All columns share the same resampled rows, so paired quantities (a candidate's accuracy
    and cost, or two candidates) keep their correlation.
    """
    n, k = values.shape
    out = np.full((n_resamples, k), np.nan)
    if n == 0 or n_resamples == 0:
        return out
    known = ~np.isnan(values)
    # One float32 product gives both the resampled sums and the resampled known-counts; the
    # counts are exact in float32 and the means need no more than ~7 significant digits.
    stacked = np.hstack([np.where(known, values, 0.0), known]).astype(np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        rows = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        counts = np.bincount(rows.ravel(), minlength=b * n).reshape(b, n).astype(np.float32)
        sums = (counts @ stacked).astype(np.float64)
        totals, weights = sums[:, :k], sums[:, k:]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + b] = np.where(weights > 0, totals / weights, np.nan)
    return out


def interval(samples: FloatArray, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Percentile interval of `samples`, ignoring NaN; it may contain ∞ (cost-of-pass)."""
    kept = samples[~np.isnan(samples)]
    if kept.size == 0:
        return Interval(math.nan, math.nan)
    tail = (1.0 - confidence) / 2.0
    # inverted_cdf picks real samples, so an ∞ sample never meets interpolation (inf - inf).
    low, high = np.quantile(kept, [tail, 1.0 - tail], method="inverted_cdf")
    return Interval(float(low), float(high))


def summarize_columns(
    scores: FloatArray,
    costs: FloatArray,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> list[Summary]:
    """One `Summary` per column of `scores`/`costs` (n, k), all from one shared bootstrap."""
    n, k = scores.shape
    # A cost only counts where the outcome is known, so R and C describe the same prompts.
    costs = np.where(np.isnan(scores), np.nan, costs)
    means = resample_means(np.hstack([scores, costs]), n_resamples, seed)
    resampled_acc, resampled_cost = means[:, :k], means[:, k:]
    with np.errstate(divide="ignore", invalid="ignore"):
        resampled_cop = np.where(resampled_acc > 0, resampled_cost / resampled_acc, np.inf)
    resampled_cop[np.isnan(resampled_acc) | np.isnan(resampled_cost)] = np.nan
    out = []
    for j in range(k):
        acc, cost = mean_known(scores[:, j]), mean_known(costs[:, j])
        out.append(
            Summary(
                n=n,
                n_known=int((~np.isnan(scores[:, j])).sum()),
                accuracy=acc,
                mean_cost_usd=cost,
                cost_of_pass_usd=cost_of_pass(cost, acc),
                accuracy_ci=interval(resampled_acc[:, j], confidence),
                mean_cost_ci=interval(resampled_cost[:, j], confidence),
                cost_of_pass_ci=interval(resampled_cop[:, j], confidence),
            )
        )
    return out


def summarize(
    scores: FloatArray,
    costs: FloatArray,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Summary:
    """The `Summary` of one candidate's per-prompt `scores` and `costs`."""
    return summarize_columns(scores[:, None], costs[:, None], n_resamples, confidence, seed)[0]


def per_problem_cost_of_pass(scores: FloatArray, costs: FloatArray) -> FloatArray:
    """v(m, p) = C_m(p) / R_m(p) elementwise: ∞ where R = 0, NaN where unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(scores > 0, costs / np.where(scores > 0, scores, 1.0), np.inf)
    out[np.isnan(scores) | np.isnan(costs)] = np.nan
    return out


@dataclass(frozen=True, slots=True)
class FrontierResult:
    """Per-problem frontier cost-of-pass, who attains it, and the task's mean."""

    per_problem: FloatArray
    best: IntArray  # column index, HUMAN, or NOBODY
    cost_of_pass_usd: float
    n_unsolved: int
    solved_mean_usd: float


def frontier_cost_of_pass(
    scores: FloatArray,
    costs: FloatArray,
    human_cost_usd: float | FloatArray | None = None,
) -> FrontierResult:
    """The frontier cost-of-pass of the candidates in the columns of `scores`/`costs` (n, k).

    Per problem: min over candidates of v(m, p) and the human-expert cost (if given);
    for the task: the mean over problems, infinite when any problem stays unsolved.
    """
    n = scores.shape[0]
    v = per_problem_cost_of_pass(scores, costs)
    v = np.where(np.isnan(v), np.inf, v)
    if v.shape[1]:
        best = np.argmin(v, axis=1).astype(np.int64)
        per_problem = v[np.arange(n), best]
    else:
        best = np.full(n, NOBODY, dtype=np.int64)
        per_problem = np.full(n, np.inf)
    if human_cost_usd is not None:
        human = np.broadcast_to(np.asarray(human_cost_usd, dtype=np.float64), (n,))
        human_wins = human < per_problem
        per_problem = np.where(human_wins, human, per_problem)
        best = np.where(human_wins, HUMAN, best)
    unsolved = np.isinf(per_problem)
    best = np.where(unsolved, NOBODY, best)
    mean = math.inf if unsolved.any() else (float(per_problem.mean()) if n else math.nan)
    solved = per_problem[~unsolved]
    solved_mean = float(solved.mean()) if solved.size else math.nan
    return FrontierResult(
        per_problem, best.astype(np.int64), mean, int(unsolved.sum()), solved_mean
    )


@dataclass(frozen=True, slots=True)
class Counterfactual:
    """The frontier without one model or class, and how far it rises above the full one."""

    removed: str
    cost_of_pass_usd: float
    rise_usd: float
    rise_pct: float


def counterfactual_frontiers(
    scores: FloatArray,
    costs: FloatArray,
    groups: Mapping[str, Sequence[int]],
    human_cost_usd: float | FloatArray | None = None,
) -> list[Counterfactual]:
    """For each named group of columns: the frontier cost-of-pass with that group removed."""
    full = frontier_cost_of_pass(scores, costs, human_cost_usd).cost_of_pass_usd
    out = []
    for name, columns in groups.items():
        keep = [j for j in range(scores.shape[1]) if j not in set(columns)]
        without = frontier_cost_of_pass(
            scores[:, keep], costs[:, keep], human_cost_usd
        ).cost_of_pass_usd
        out.append(Counterfactual(name, without, *_rise(full, without)))
    return out


def _rise(full: float, without: float) -> tuple[float, float]:
    if math.isinf(without) and math.isinf(full):
        return math.nan, math.nan  # both unbounded: no finite comparison exists
    if math.isinf(without):
        return math.inf, math.inf
    rise = without - full
    return rise, (100.0 * rise / full if full > 0 else math.nan)
