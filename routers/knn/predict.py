"""Predicted quality and cost per model from a prompt's neighbours, and the batch choice.

Quality of model m for a prompt with neighbours j (similarity s_j):

    q_m = (Σ_j w_j y_jm + β p_m) / (Σ_j w_j + β),   w_j = exp((s_j − s_1) / τ),

summing, for each model, over its own first k neighbours whose outcome y_jm is known
(routers.knn.sparse: the search goes deeper when labels are sparse, and a sparsely labelled
model may read `sparse_k` of them); p_m is the model's mean known score
over the reference set, so a model nobody near the prompt has tried falls back to its prior. The nearest neighbour
has weight 1, so β reads as "the prior counts like β nearest neighbours".
(A local prior, the mean over the 128-256 nearest prompts, was tried as a label-free
stand-in for the task and did not move held-out AIQ; it was dropped.)
Cost is the neighbours' mean recorded cost of m blended with this request's pre-flight
estimate (weight `cost_blend` on the neighbours), or whichever of the two exists.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.base import Objective
from routers.knn.sparse import first_labelled, model_ks

FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CHUNK_ROWS = 4096
# routers.choose reads the max_utility knob as quality points per USD per 1k requests.
UTILITY_SCALE = 1000.0


@dataclass(frozen=True)
class KnnParams:
    """How neighbours turn into predictions; stored in the artifact's manifest.

    Defaults chosen on validation splits carved out of TRAIN (RouteLLM and LLMRouter):
    k in {8, 32, 128} x τ in {0.02, 0.05, 0.2, 10} x β in {0.5, 1, 2} moved held-out AIQ by
    about ±0.01; k=32, τ=0.2, β=1 was at or near the top on both.
    """

    k: int = 32
    tau: float = 0.2
    prior_weight: float = 1.0
    cost_blend: float = 0.5
    # Search up to this many times k deep so each model finds k labelled neighbours when
    # labels are sparse (routers.knn.sparse); 1: the first k neighbours for every model.
    depth_factor: int = 8
    # Labelled neighbours a sparsely labelled model reads (routers.knn.sparse.model_ks: the
    # learning loop's few, judge-noisy labels); 0: k. Dense reference sets never use it.
    # 128 (4 × k) chosen on VALIDATION over {32, 64, 96, 128, 192, 256}
    # (bench/results/learning/tune_sparse_*_sparsek*.md).
    sparse_k: int = 128

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def model_priors(scores: FloatMatrix) -> FloatMatrix:
    """Mean known score per model; 0 for a model with no known outcome."""
    known = ~np.isnan(scores)
    counts = known.sum(axis=0)
    sums = np.where(known, scores, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def neighbour_predictions(
    sims: npt.NDArray[np.float32],
    idx: IntArray,
    scores: FloatMatrix,
    costs: FloatMatrix,
    params: KnnParams,
    priors: FloatMatrix | None = None,
    ks: IntArray | None = None,
) -> tuple[FloatMatrix, FloatMatrix]:
    """(quality, neighbour cost), each (n_queries, n_models); cost NaN where no neighbour knows.

    `priors` and `ks` (labelled neighbours per model) are derived from `scores` when not given.
    """
    priors = model_priors(scores) if priors is None else priors
    ks = model_ks(scores, params.k, params.sparse_k) if ks is None else ks
    n, m = idx.shape[0], scores.shape[1]
    quality = np.empty((n, m))
    cost = np.empty((n, m))
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        rows = idx[start:stop]
        valid = rows >= 0  # FAISS pads with -1 when the index holds fewer than k vectors
        s = np.where(valid, sims[start:stop].astype(np.float64), -np.inf)
        top = s.max(axis=1, keepdims=True)
        w = np.where(valid, np.exp((s - np.where(np.isfinite(top), top, 0.0)) / params.tau), 0.0)
        y = scores[np.where(valid, rows, 0)]  # (b, k, m)
        c = costs[np.where(valid, rows, 0)]
        known = first_labelled(~np.isnan(y) & valid[:, :, None], ks)
        wk = w[:, :, None] * known
        num = (wk * np.where(known, y, 0.0)).sum(axis=1)
        den = wk.sum(axis=1)
        quality[start:stop] = (num + params.prior_weight * priors) / (den + params.prior_weight)
        cost_known = known & ~np.isnan(c)
        cw = w[:, :, None] * cost_known
        cden = cw.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cost[start:stop] = np.where(
                cden > 0, (cw * np.where(cost_known, c, 0.0)).sum(axis=1) / cden, np.nan
            )
    return quality, cost


def blend_costs(
    neighbour: FloatMatrix, estimate: FloatMatrix | None, weight: float
) -> FloatMatrix:
    """Neighbour cost and pre-flight estimate mixed; either alone where the other is NaN."""
    if estimate is None:
        return neighbour
    mixed = weight * neighbour + (1.0 - weight) * estimate
    return np.where(np.isnan(neighbour), estimate, np.where(np.isnan(estimate), neighbour, mixed))


def choose(
    quality: FloatMatrix,
    cost: FloatMatrix,
    objective: Objective,
    knob: float,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> IntArray:
    """Per row, the column `routers.choose.rank` would put first; ties go to the cheaper."""
    n, m = quality.shape
    allowed = np.ones(m, dtype=np.bool_) if allowed is None else allowed
    if not allowed.any():
        raise ValueError("no model is allowed")
    cost = np.where(np.isnan(cost), np.inf, cost)
    q = np.where(allowed, quality, -np.inf)
    if objective == "max_utility":
        if math.isinf(knob):
            return _cheapest(np.where(allowed, cost, np.inf), q)
        utility = np.where(allowed, quality - knob * UTILITY_SCALE * cost, -np.inf)
        return _best_then_cheapest(utility, cost)
    threshold = (
        q.max(axis=1, keepdims=True) - knob if objective == "cheapest_within_eps"
        else np.full((n, 1), knob)
    )
    ok = (q >= threshold) & allowed
    cheapest_ok = _cheapest(np.where(ok, cost, np.inf), q)
    best = _best_then_cheapest(q, cost)
    picked: IntArray = np.where(ok.any(axis=1), cheapest_ok, best).astype(np.int64)
    return picked


def _best_then_cheapest(value: FloatMatrix, cost: FloatMatrix) -> IntArray:
    top = value.max(axis=1, keepdims=True)
    tied = value >= top - 1e-12
    picked: IntArray = np.argmin(np.where(tied, cost, np.inf), axis=1).astype(np.int64)
    return picked


def _cheapest(cost: FloatMatrix, quality: FloatMatrix) -> IntArray:
    low = cost.min(axis=1, keepdims=True)
    tied = cost <= low
    picked: IntArray = np.argmax(np.where(tied, quality, -np.inf), axis=1).astype(np.int64)
    return picked
