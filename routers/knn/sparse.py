"""Per-model neighbour sets, so sparse labels do not thin out each model's estimate.

Records from the learning loop label each prompt for a few models only (the served one and
`shadow_models_per_prompt` others), the rest are NaN. Among a prompt's k nearest neighbours a
model then has about k × (its label density) labels, so its estimate rests on a handful of
noisy votes while a densely labelled model's rests on k. Instead each model uses its own k
nearest neighbours *that hold its label*: the search goes deeper (`search_depth`) and
`first_labelled` keeps, per model, the first k labelled rows in similarity order.

A sparsely labelled model (labelled on under half the labelled rows: in practice the learning
loop's judged labels) may read more of them, `sparse_k` (`model_ks`): a judge that flips a
label with probability ε shrinks the signal by 1 − 2ε and leaves the vote's variance, so the
same precision needs about k / (1 − 2ε)² labels; where labels are dense (offline data, true
outcomes) k is kept.

With every cell known the depth is k and the mask is every neighbour: the dense behaviour,
and the dense speed, are unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# A model labelled on fewer than this share of the labelled reference rows counts as sparse.
SPARSE_SHARE = 0.5


def model_ks(scores: npt.NDArray[np.float64], k: int, sparse_k: int) -> npt.NDArray[np.int64]:
    """Labelled neighbours each model's estimate reads: k, or `sparse_k` (0: k) if sparse."""
    ks = np.full(scores.shape[1], k, dtype=np.int64)
    if sparse_k <= 0 or sparse_k == k or scores.size == 0:
        return ks
    known = ~np.isnan(scores)
    rows = int(known.any(axis=1).sum())
    ks[known.sum(axis=0) < SPARSE_SHARE * rows] = sparse_k
    return ks


def search_depth(scores: npt.NDArray[np.float64], k: int | npt.NDArray[np.int64],
                 max_factor: int) -> int:
    """Neighbours to fetch so each labelled model expects its k labels among them.

    k / (that model's share of labelled rows), for the neediest model, capped at
    `max_factor` × k (search cost grows with it; a model labelled on fewer rows than that
    falls back on its prior). `k` is one number or one per model (`model_ks`).
    """
    ks = np.broadcast_to(np.asarray(k, dtype=np.int64), (scores.shape[1],))
    top = int(ks.max()) if ks.size else int(np.max(k))
    if scores.size == 0 or max_factor <= 1:
        return top
    counts = (~np.isnan(scores)).sum(axis=0)
    labelled = counts > 0
    if not labelled.any():
        return top
    density = counts[labelled] / scores.shape[0]
    need = max(math.ceil(float(kk) / d - 1e-9) for kk, d in zip(ks[labelled], density))
    return int(min(top * max_factor, need))


def first_labelled(known: npt.NDArray[np.bool_],
                   k: int | npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """known (queries, depth, models) -> the first k known neighbours of each model.

    `k` is one number or one per model (the last axis)."""
    mask: npt.NDArray[np.bool_] = known & (np.cumsum(known, axis=1) <= k)
    return mask
