"""Training the answer scorer from routing data with responses, and scoring it honestly.

`encode` embeds each distinct prompt once, then (`with_answer_vectors`) each distinct answer
of every model once, in batches, so the progress bar moves and duplicates, e.g. the "A" of a
multiple-choice answer, cost nothing. `fit_heads` trains one head per model on chosen rows. `out_of_fold_scores` gives each row the score of a head that did not
see it (k-fold, folds grouped by normalised prompt): the cascade optimizer must pick its
thresholds on such scores, since in-sample scores are over-confident and would make it
accept too many cheap answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from routers.cascade.features import answer_text
from routers.cascade.logistic import LogisticHead, fit_logistic
from routers.cascade.scorer import pair_features, penalties
from routers.datasets.format import RoutingDataset
from routers.datasets.text import embedding_text, normalise
from routers.embedding import Embedder
from routers.train_progress import NullTrainProgress, TrainProgress, reuse_note

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]

# A head trained on fewer labelled answers than this would be noise; the model is then
# only usable as a cascade's final stage.
MIN_TRAINING_ANSWERS = 20
EMBED_BATCH = 256


@dataclass(frozen=True)
class ScorerConfig:
    """Penalties of the logistic heads and the folds of the out-of-fold scores."""

    l2_embedding: float = 1000.0
    l2_hand: float = 1.0
    folds: int = 5
    embed_answer: bool = True  # False: the fast scorer (query embedding + hand features)


@dataclass
class EncodedData:
    """A dataset's prompts and answers, embedded once, rows aligned with the dataset."""

    dataset: RoutingDataset
    query_vectors: Vectors
    models: list[str] = field(default_factory=list)  # those with enough answers for a head
    embed_answer: bool = True
    answer_vectors: dict[str, Vectors] = field(default_factory=dict)  # empty when not embedded
    _features: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    def answered_rows(self, model: str) -> IntArray:
        """Rows where `model` has both a response and a known outcome."""
        j = self.dataset.models.index(model)
        responses = self.dataset.responses.get(model, [])
        has = np.array([r is not None for r in responses], dtype=bool)
        known = ~np.isnan(self.dataset.scores[: len(has), j])
        return np.flatnonzero(has & known).astype(np.int64)

    def features(self, model: str, rows: IntArray) -> FloatArray:
        """Scorer features of `model`'s answers on `rows` (computed once for all rows)."""
        if model not in self._features:
            answers = self.dataset.responses[model]
            self._features[model] = pair_features(
                self.query_vectors,
                self.answer_vectors.get(model),
                [embedding_text(p) for p in self.dataset.prompts],
                [a or "" for a in answers],
            )
        return self._features[model][rows]

    def labels(self, model: str, rows: IntArray) -> FloatArray:
        return np.asarray(self.dataset.scores[rows, self.dataset.models.index(model)])


def scorable_models(ds: RoutingDataset) -> list[str]:
    """Models with enough recorded responses to train a head."""
    return [
        m
        for m in ds.models
        if sum(r is not None for r in ds.responses.get(m, [])) >= MIN_TRAINING_ANSWERS
    ]


def encode(
    ds: RoutingDataset,
    embedder: Embedder,
    embed_answer: bool = True,
    progress: TrainProgress | None = None,
) -> EncodedData:
    """Embeds the prompts, and the answers of every scorable model when `embed_answer`."""
    progress = progress or NullTrainProgress()
    prompts = [embedding_text(p) for p in ds.prompts]
    query_vectors = embed_distinct(embedder, [prompts], progress, "prompts")[0]
    encoded = EncodedData(ds, query_vectors, scorable_models(ds), embed_answer=False)
    return with_answer_vectors(encoded, embedder, progress) if embed_answer else encoded


def with_answer_vectors(
    encoded: EncodedData, embedder: Embedder, progress: TrainProgress | None = None,
    note: str = "", known: EncodedData | None = None,
) -> EncodedData:
    """`encoded` with the vectors of every scorable model's answers (the full scorer's
    input); `note` ends the progress line (what these rows are); the answers `known` holds
    the vectors of (e.g. a sample of these rows) are not embedded again."""
    columns = answer_columns(encoded)
    done: dict[str, Vectors] = {}
    if known is not None:
        for model, texts in zip(known.models, answer_columns(known)):
            done.update(zip(texts, known.answer_vectors[model]))
    vectors = embed_distinct(embedder, columns, progress or NullTrainProgress(),
                             f"answers of {len(encoded.models)} models{note}", done)
    return EncodedData(encoded.dataset, encoded.query_vectors, list(encoded.models), True,
                       dict(zip(encoded.models, vectors)))


def answer_columns(encoded: EncodedData) -> list[list[str]]:
    """Per scorable model, the embedded text of its answer on each row ("" for none)."""
    ds = encoded.dataset
    return [[answer_text(r or "") for r in ds.responses[m]] for m in encoded.models]


def embed_distinct(
    embedder: Embedder, columns: list[list[str]], progress: TrainProgress, what: str = "texts",
    known: Mapping[str, Vectors] | None = None,
) -> list[Vectors]:
    """Each column's vectors, embedding every distinct text of all columns once, except
    those `known` maps to a vector already."""
    known = known or {}
    wanted = dict.fromkeys(t for column in columns for t in column)
    distinct = [t for t in wanted if t not in known]
    reused = [t for t in wanted if t in known]
    had = f"; {len(reused):,} embedded before" if known else ""
    progress.stage(f"embedding {len(distinct):,} distinct {what}{had}"
                   f"{reuse_note(embedder, distinct)}", len(distinct))
    parts = []
    for start in range(0, len(distinct), EMBED_BATCH):
        batch = distinct[start : start + EMBED_BATCH]
        parts.append(np.asarray(embedder.embed(batch), dtype=np.float32))
        progress.advance(len(batch))
    parts += [np.asarray([known[t] for t in reused], dtype=np.float32)] if reused else []
    table = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)
    index = {t: i for i, t in enumerate(distinct + reused)}
    return [table[[index[t] for t in column]] for column in columns]


def fit_heads(
    encoded: EncodedData,
    rows: IntArray | None = None,
    config: ScorerConfig = ScorerConfig(),
    start: dict[str, LogisticHead] | None = None,
    progress: TrainProgress | None = None,
) -> dict[str, LogisticHead]:
    """One head per scorable model, trained on `rows` (default: all rows); `start`: heads to
    begin from (same optimum, fewer Newton steps)."""
    progress = progress or NullTrainProgress()
    heads: dict[str, LogisticHead] = {}
    if encoded.embed_answer != config.embed_answer:
        raise ValueError(
            f"the data were encoded with embed_answer={encoded.embed_answer}, "
            f"the scorer config asks for {config.embed_answer}"
        )
    l2 = penalties(
        encoded.query_vectors.shape[1], config.l2_embedding, config.l2_hand, config.embed_answer
    )
    for model in encoded.models:
        answered = encoded.answered_rows(model)
        if rows is not None:
            answered = np.intersect1d(answered, rows).astype(np.int64)
        if len(answered) < MIN_TRAINING_ANSWERS:
            progress.advance()
            continue
        heads[model] = fit_logistic(
            encoded.features(model, answered),
            encoded.labels(model, answered),
            l2,
            (start or {}).get(model),
        )
        progress.advance()
    return heads


def fold_of_rows(prompts: list[str], folds: int, seed: int) -> IntArray:
    """A fold number per row; duplicates of a prompt share a fold."""
    keys = sorted({normalise(p) for p in prompts})
    order = np.random.default_rng(seed).permutation(len(keys))
    fold_of_key = {keys[k]: rank % folds for rank, k in enumerate(order)}
    return np.array([fold_of_key[normalise(p)] for p in prompts], dtype=np.int64)


def out_of_fold_scores(
    encoded: EncodedData,
    config: ScorerConfig = ScorerConfig(),
    seed: int = 0,
    start: dict[str, LogisticHead] | None = None,
    progress: TrainProgress | None = None,
) -> FloatArray:
    """(n, n_models) scores, each from a head trained without that row's fold; NaN = none.

    `start` (the all-rows heads) warm-starts each fold's fit: a fold sees 80% of the rows,
    so its optimum is close and Newton needs a few steps instead of seven or more.
    """
    ds = encoded.dataset
    out = np.full((len(ds), len(ds.models)), np.nan)
    fold = fold_of_rows(ds.prompts, config.folds, seed)
    for k in range(config.folds):
        inside = np.flatnonzero(fold != k).astype(np.int64)
        heads = fit_heads(encoded, inside, config, start, progress)
        held = np.flatnonzero(fold == k).astype(np.int64)
        for model, head in heads.items():
            rows = np.intersect1d(held, encoded.answered_rows(model))
            if len(rows):
                out[rows, ds.models.index(model)] = head.predict(encoded.features(model, rows))
    return out


def score_rows(encoded: EncodedData, heads: dict[str, LogisticHead]) -> FloatArray:
    """(n, n_models) scores of every answered row by `heads`; NaN where no head or answer."""
    ds = encoded.dataset
    out = np.full((len(ds), len(ds.models)), np.nan)
    for model, head in heads.items():
        if model not in encoded.models:
            continue
        rows = encoded.answered_rows(model)
        if len(rows):
            out[rows, ds.models.index(model)] = head.predict(encoded.features(model, rows))
    return out
