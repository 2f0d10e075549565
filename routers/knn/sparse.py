"""Per-model neighbour sets, so sparse labels do not thin out each model's estimate.

Records from the learning loop label each prompt for a few models only (the served one and
`shadow_models_per_prompt` others), the rest are NaN. Among a prompt's k nearest neighbours a
model then has about k × (its label density) labels, so its estimate rests on a handful of
noisy votes while a densely labelled model's rests on k. Instead each model uses its own k
nearest neighbours *that hold its label*: the search goes deeper (`search_depth`) and
`first_labelled` keeps, per model, the first k labelled rows in similarity order.

With every cell known the depth is k and the mask is every neighbour: the dense behaviour,
and the dense speed, are unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def search_depth(scores: npt.NDArray[np.float64], k: int, max_factor: int) -> int:
    """Neighbours to fetch so the sparsest labelled model expects k labels among them.

    k / (that model's share of labelled rows), capped at `max_factor` × k (search cost
    grows with it; a model labelled on fewer rows than that falls back on its prior).
    """
    if scores.size == 0 or max_factor <= 1:
        return k
    counts = (~np.isnan(scores)).sum(axis=0)
    labelled = counts[counts > 0]
    if not len(labelled):
        return k
    density = float(labelled.min()) / scores.shape[0]
    return int(min(k * max_factor, math.ceil(k / density - 1e-9)))


def first_labelled(known: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.bool_]:
    """known (queries, depth, models) -> the first k known neighbours of each model."""
    mask: npt.NDArray[np.bool_] = known & (np.cumsum(known, axis=1) <= k)
    return mask
