"""A small k-NN router over hashing embeddings (no MiniLM): cheap and strong models."""

from __future__ import annotations

import numpy as np

from pricing.estimate import CostEstimate
from routers.base import Candidate
from routers.datasets.text import embedding_text, text_hash
from routers.embedding import HashingEmbedder
from routers.knn.artifact import KnnArtifact
from routers.knn.predict import KnnParams
from routers.knn.projection import Projection
from routers.knn.router import KnnRouter

MODELS = ["cheap", "strong", "odd"]
COSTS = {"cheap": 1e-4, "strong": 5e-4, "odd": 2e-4}
REFERENCE = [
    "What is the capital city of France?",
    "Translate good morning into Spanish.",
    "Name three primary colours.",
    "How many legs does a spider have?",
    "Write a haiku about autumn leaves.",
    "Give a synonym for happy.",
]


def knn_router(dim: int = 256) -> KnnRouter:
    embedder = HashingEmbedder(dim=dim)
    raw = embedder.embed([embedding_text(p) for p in REFERENCE])
    n = len(REFERENCE)
    scores = np.column_stack([np.ones(n), np.ones(n), np.zeros(n)])
    costs = np.tile([COSTS[m] for m in MODELS], (n, 1))
    zero = np.zeros((dim, dim), dtype=np.float32)
    projection = Projection(w1=zero, b1=np.zeros(dim, dtype=np.float32), w2=zero,
                            b2=np.zeros(dim, dtype=np.float32))
    artifact = KnnArtifact(
        models=list(MODELS), raw=raw, prompt_hashes=[text_hash(p) for p in REFERENCE],
        scores=scores, costs=costs, projection=projection, descriptors=np.zeros((3, dim)),
        default_space="raw", params=KnnParams(k=4, tau=0.2, prior_weight=1.0, cost_blend=0.5))
    return KnnRouter(artifact, embedder=embedder)


def candidate(model: str, cost: float, max_cost: float | None = None) -> Candidate:
    estimate = CostEstimate(model, 20, 50, 200, cost, max_cost or 4 * cost, False)
    return Candidate(model, "remote", estimate)


def candidates() -> list[Candidate]:
    return [candidate(m, c) for m, c in COSTS.items()]
