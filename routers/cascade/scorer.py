"""The answer scorer g(query, answer) → P(answer is correct), one logistic head per model.

Features of a (query, answer) pair: the MiniLM vectors of the query and of the answer, their
elementwise product (does the answer talk about what was asked), and cheap hand features
(`features.py`). The query text is chosen as the k-NN router chooses it, so both share the
embedder's LRU cache when they run on the same request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.cascade.features import FEATURE_NAMES, answer_text, hand_feature_matrix
from routers.cascade.logistic import LogisticHead
from routers.datasets.text import embedding_text, messages_embedding_text
from routers.embedding import Embedder

FloatArray = npt.NDArray[np.float64]
Vectors = npt.NDArray[np.float32]


def pair_features(
    query_vectors: Vectors,
    answer_vectors: Vectors | None,
    queries: Sequence[str],
    answers: Sequence[str],
) -> FloatArray:
    """Features of n (query, answer) pairs, rows aligned.

    With answer vectors: [q, a, q·a, hand] (3·dim + hand columns); without: [q, hand], the
    fast variant whose only embedding is the query's, which the k-NN router and earlier
    stages of the same request have usually cached already.
    """
    q = np.asarray(query_vectors, dtype=np.float64)
    hand = hand_feature_matrix(answers, queries)
    if answer_vectors is None:
        return np.hstack([q, hand])
    a = np.asarray(answer_vectors, dtype=np.float64)
    return np.hstack([q, a, q * a, hand])


def penalties(
    dim: int, l2_embedding: float, l2_hand: float, embed_answer: bool = True
) -> FloatArray:
    """Per-column L2 penalties for `pair_features`: the hundreds of embedding columns need
    far more shrinkage than the dozen hand features, or they drown them on small data."""
    blocks = 3 if embed_answer else 1
    return np.concatenate(
        [np.full(blocks * dim, l2_embedding), np.full(len(FEATURE_NAMES), l2_hand)]
    )


@dataclass
class AnswerScorer:
    """Scores answers of the models it has a head for; `embedder` must match training's."""

    heads: Mapping[str, LogisticHead]
    embedder: Embedder
    embed_answer: bool = True

    @property
    def models(self) -> list[str]:
        return list(self.heads)

    def can_score(self, model: str) -> bool:
        return model in self.heads

    def score_many(self, model: str, queries: Sequence[str], answers: Sequence[str]) -> FloatArray:
        """P(correct) of each `answers[i]` given by `model` to stored prompt `queries[i]`."""
        texts = [embedding_text(q) for q in queries]
        return self._score(model, texts, answers)

    def score_chat(self, model: str, messages: Sequence[Mapping[str, Any]], answer: str) -> float:
        """P(correct) of `model`'s `answer` to the chat `messages` (what serving calls)."""
        return float(self._score(model, [messages_embedding_text(messages)], [answer])[0])

    def prepare(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Embeds the chat's query now, so that scoring its answers later hits the cache.

        The cascade calls this while the first stage's model is still answering: the one
        MiniLM call a fast scorer needs per request is then off the critical path.
        """
        self.embedder.embed([messages_embedding_text(messages)])

    def _score(self, model: str, query_texts: Sequence[str], answers: Sequence[str]) -> FloatArray:
        head = self.heads.get(model)
        if head is None:
            raise KeyError(f"the scorer has no head for {model!r} (has: {', '.join(self.heads)})")
        n = len(query_texts)
        if not self.embed_answer:
            vectors = self.embedder.embed(list(query_texts))
            return head.predict(pair_features(vectors, None, query_texts, answers))
        vectors = self.embedder.embed(list(query_texts) + [answer_text(a) for a in answers])
        return head.predict(pair_features(vectors[:n], vectors[n:], query_texts, answers))
