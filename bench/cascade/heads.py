"""Per-model correctness heads on the prompt embedding, and k-NN voting, as eval candidates.

A head per model: logistic P(model answers correctly | prompt embedding), fitted on the
training split (IRT-style per-model heads without the shared ability term). The router
picks, per prompt, the model maximising P(correct) − λ · its mean training cost, over the
per-task lookup's λ grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eval.baselines import default_lambdas
from eval.sweep import Choices
from routers.cascade.logistic import LogisticHead, fit_logistic
from routers.knn.fit import FitConfig, fit_from_vectors
from routers.knn.replay import KnnReplayable
from routers.knn.router import KnnRouter

HEAD_L2 = 30.0


def fit_prompt_heads(vectors: np.ndarray, scores: np.ndarray) -> list[LogisticHead]:
    return [
        fit_logistic(vectors[~np.isnan(scores[:, j])], scores[~np.isnan(scores[:, j]), j], HEAD_L2)
        for j in range(scores.shape[1])
    ]


class HeadsCandidate:
    kind = "router"

    def __init__(self, name: str, quality: np.ndarray, train: Any):
        self.name = name
        self.quality = quality
        self.cost = np.nanmean(train.costs, axis=0)
        self.lambdas = default_lambdas(train)

    def sweep(self, dataset: Any) -> list[Choices]:
        steps = []
        for lam in self.lambdas:
            if np.isinf(lam):
                choice = np.full(len(self.quality), int(np.argmin(self.cost)))
            else:
                choice = np.argmax(self.quality - lam * self.cost[None, :], axis=1)
            steps.append(Choices(float(lam), choice.astype(np.int64)))
        return steps


def knn_candidate(
    train: Any, train_vectors: np.ndarray, val: Any, val_vectors: np.ndarray, emb: Any
) -> tuple[KnnReplayable, np.ndarray]:
    """The project's k-NN router fitted on the training split, and its per-model quality
    estimates on validation (columns in `val.models` order)."""
    artifact = fit_from_vectors(train, train_vectors, FitConfig(), emb.name)
    router = KnnRouter(artifact, embedder=emb)
    quality, _ = router.predict(val_vectors)
    columns = [router.models.index(m) for m in val.models]
    return KnnReplayable(router, name="knn"), quality[:, columns]


def knn_out_of_fold(
    train: Any, train_vectors: np.ndarray, emb: Any, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """The k-NN's per-model quality estimates of each training row by a k-NN fitted
    without that row's fold (columns in `train.models` order): what choosing the composed
    route's settings on training rows needs."""
    n = len(train)
    fold = np.random.default_rng(seed).permutation(n) % folds
    out = np.full((n, len(train.models)), np.nan)
    for k in range(folds):
        inside, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        artifact = fit_from_vectors(train.subset(inside), train_vectors[inside], FitConfig(),
                                    emb.name)
        router = KnnRouter(artifact, embedder=emb)
        quality, _ = router.predict(train_vectors[held])
        out[held] = quality[:, [router.models.index(m) for m in train.models]]
    return out
