"""Model descriptors derived from outcomes, in the same space as the prompt vectors.

CSCR fingerprints each model by its logits on probe prompts; a gateway has no access to
those, but it has outcomes. A model's descriptor is the direction, in raw MiniLM space, of
the prompts it answers better than the other models do:

    d_m = normalise( sum_i (y_im - ybar_i) * x_i )   over prompts i where y_im is known,

with ybar_i the mean known score of prompt i over all models. Adding a model needs only its
outcomes on some reference prompts: the same formula gives its descriptor, and the trained
projection (which maps prompts towards descriptors) is not retrained.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from routers.knn.projection import Vectors, normalise_rows

FloatMatrix = npt.NDArray[np.float64]


def outcome_descriptors(raw: Vectors, scores: FloatMatrix) -> Vectors:
    """(n_models, d) unit descriptors from (n, d) raw prompt vectors and (n, m) scores."""
    known = ~np.isnan(scores)
    counts = known.sum(axis=1, keepdims=True)
    filled = np.where(known, scores, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_mean = np.where(counts > 0, filled.sum(axis=1, keepdims=True) / counts, 0.0)
    advantage = np.where(known, scores - row_mean, 0.0)
    descriptors = advantage.T.astype(np.float32) @ raw
    # A model no prompt separates (all ties) falls back to the centroid of its known prompts.
    flat = np.linalg.norm(descriptors, axis=1) < 1e-6
    if flat.any():
        centroid = known.T.astype(np.float32) @ raw
        descriptors[flat] = centroid[flat]
    return normalise_rows(descriptors)


def descriptor_for(raw: Vectors, scores: FloatMatrix, column: int) -> Vectors:
    """The descriptor of one model (column of `scores`) computed against the others."""
    row: Vectors = outcome_descriptors(raw, scores)[column]
    return row
