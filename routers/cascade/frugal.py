"""FrugalGPT's own cascade solver, re-implemented as the baseline ours is compared with.

Source: stanford-futuredata/FrugalGPT, `src/FrugalGPT/optimizer.py` and `llmchain.py`
(Apache-2.0). For every permutation of exactly `depth` models it searches the per-stage
*acceptance quantiles* (the share of the rows reaching a stage that the stage accepts) on a
brute-force grid of 40 points per stage in (1e-5, 1 - 1e-5), requires the quantiles to be
non-decreasing along the chain, rejects grid points over budget, polishes the best point
with Nelder-Mead (`scipy.optimize.fmin`) and keeps the most accurate permutation. A
permutation whose first model alone costs more than the budget is skipped.

Two deliberate differences, both neutral for the comparison: the objective is vectorised
(theirs loops in Python), and the final stage always accepts (theirs accepts when its own
score is above 0, i.e. always but for a score of exactly 0).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from routers.cascade.search import Outcomes
from routers.cascade.strategy import Stage, Strategy

FloatArray = npt.NDArray[np.float64]

GRID_POINTS = 40
INFEASIBLE = 10_000.0


def _accepting(distance: FloatArray, thresholds: FloatArray) -> FloatArray:
    """One-hot (n, L) of the first stage whose distance 1 - score is below its threshold."""
    accept = distance < thresholds[None, :]
    accept[:, -1] = True
    first = np.argmax(accept, axis=1)
    out = np.zeros_like(distance)
    out[np.arange(len(distance)), first] = 1.0
    return out


def _quantile_thresholds(distance: FloatArray, quantiles: FloatArray) -> FloatArray:
    """FrugalGPT's map from acceptance quantiles to distance thresholds, stage by stage."""
    n, depth = distance.shape
    thresholds = np.ones(depth)
    reaching = np.ones(n, dtype=bool)
    for i, q in enumerate(quantiles):
        q = min(max(float(q), 0.0), 1.0)
        data = distance[reaching, i]
        thresholds[i] = float(np.quantile(data, 1 - q)) if len(data) else 0.0
        reaching &= distance[:, i] >= thresholds[i]
    return thresholds


def _objective(
    distance: FloatArray, loss: FloatArray, cum_cost: FloatArray, budget: float
) -> Callable[[FloatArray], float]:
    n = len(distance)

    def g(quantiles: FloatArray) -> float:
        quantiles = np.atleast_1d(quantiles)
        if not np.all(np.diff(quantiles) >= 0):
            return INFEASIBLE
        thresholds = _quantile_thresholds(distance, quantiles)
        chosen = _accepting(distance, thresholds)
        if float((chosen * cum_cost).sum()) > budget * n:
            return INFEASIBLE
        return -float((chosen * loss).sum())

    return g


def _solve_ordering(
    o: Outcomes, order: tuple[int, ...], budget: float
) -> tuple[float, Strategy] | None:
    from scipy import optimize

    cols = list(order)
    cum_cost = np.cumsum(o.costs[:, cols], axis=1)
    if float(cum_cost[:, 0].mean()) > budget:
        return None
    distance = 1.0 - np.nan_to_num(o.scores[:, cols], nan=0.0)
    g = _objective(distance, o.outcomes[:, cols], cum_cost, budget)
    ranges = [(1e-5, 1 - 1e-5)] * (len(cols) - 1)
    with warnings.catch_warnings():
        # brute warns when Nelder-Mead stops at its iteration cap; FrugalGPT ignores it too.
        warnings.simplefilter("ignore", RuntimeWarning)
        best_q, best_value, _, _ = optimize.brute(
            g, ranges, Ns=GRID_POINTS, full_output=True, finish=optimize.fmin
        )
    if best_value >= INFEASIBLE:
        return None
    thresholds = _quantile_thresholds(distance, np.atleast_1d(best_q))
    stages = tuple(
        Stage(o.models[j], float(np.nextafter(1.0 - thresholds[i], np.inf)))
        for i, j in enumerate(cols[:-1])
    ) + (Stage(o.models[cols[-1]]),)
    accuracy = -float(best_value) / len(distance)
    chosen = _accepting(distance, thresholds)
    cost = float((chosen * cum_cost).sum()) / len(distance)
    return accuracy, Strategy(stages, accuracy, cost)


def frugalgpt_solve(o: Outcomes, budget_usd: float, depth: int = 3) -> Strategy | None:
    """FrugalGPT's strategy for a mean-cost budget; None when no chain fits the budget."""
    depth = min(depth, len(o.models))
    best: tuple[float, Strategy] | None = None
    for order in itertools.permutations(range(len(o.models)), depth):
        if not all(o.scorable(j) for j in order[:-1]):
            continue
        found = _solve_ordering(o, order, budget_usd)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best[1] if best else None
