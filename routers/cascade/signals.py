"""Post-generation signals stacked on the answer scorer: agreement and the code verifier.

The base scorer (`fit_scorer`) gives each model's answer a probability of being right from
the query and the answer alone. A small second-level logistic head per model then adds:

* agreement (`agreement.py`) of this answer with the previous stage's answer, when one ran
  (with that answer's own base score, since agreeing with a likely-wrong answer says less);
* the verifier's features (`verifier.py`) for code answers;
* where the upstream returned them, the answer's mean and minimum token logprob (a
  presence flag and zeros where it did not: RouterBench's recordings have none, so there
  the columns are constant and the head ignores them).

A *parallel stage* "a&b" calls two models at once and returns the answer with the higher
base score; its head reads both base scores and their agreement (MoT's consistency check).
It is one more column for the search, costing both calls. A *vote stage* "a&b&c" (three or
more models) returns the majority answer (the member whose answer the others agree with
most; ties go to the higher base score) and its head reads the majority's share: on
RouterBench's ARC-Challenge, whether one other cheap model agrees ranks a cheap answer's
correctness at within-task AUROC about 0.65, the share of three others about 0.86
(`bench/cascade/agreement_signal.py`).

Everything is fitted on out-of-fold base scores, and itself scored out-of-fold, so the
search picks thresholds on honest numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from routers.cascade.logistic import LogisticHead, fit_logistic

FloatArray = npt.NDArray[np.float64]
FloatMatrix = npt.NDArray[np.float64]
Tensor = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Group = tuple[int, ...]  # the models of a parallel stage, by column

STACK_L2 = 1.0
FOLDS = 5


def logit(p: FloatArray) -> FloatArray:
    q = np.clip(np.nan_to_num(p, nan=0.5), 1e-4, 1 - 1e-4)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


@dataclass
class Signals:
    """Row-aligned inputs of the stacked heads for one set of rows."""

    base: FloatMatrix  # (n, m) base scores (out-of-fold on training rows)
    agree: Tensor  # (n, m, m) answer agreement
    verifier: Tensor  # (n, m, v) verifier features (zeros where no code)
    use_agreement: bool = True
    use_verifier: bool = True
    # (n, m, 2) mean and min token logprob of each answer, NaN where the upstream gave none.
    logprobs: Tensor | None = None
    use_logprobs: bool = False

    def _logprob_columns(self, models: npt.NDArray[np.int64]) -> list[FloatArray]:
        n = len(self.base)
        if self.logprobs is None:
            return [np.zeros(n), np.zeros(n), np.zeros(n)]
        values = np.asarray(self.logprobs[np.arange(n), models, :], dtype=np.float64)
        known = np.asarray(~np.isnan(values).any(axis=1), dtype=bool)
        filled = np.where(known[:, None], np.nan_to_num(values), 0.0)
        return [known.astype(np.float64), filled[:, 0], filled[:, 1]]

    def single(self, b: int, after: int | None) -> FloatMatrix:
        """Features of model b's answer, after stage `after` (None: first stage)."""
        n = len(self.base)
        cols = [logit(self.base[:, b])]
        if self.use_agreement:
            if after is None:
                cols += [np.full(n, 0.5), np.zeros(n), np.zeros(n)]
            else:
                agree = np.nan_to_num(self.agree[:, b, after], nan=0.5)
                cols += [agree - 0.5, np.ones(n), (agree - 0.5) * logit(self.base[:, after])]
        if self.use_verifier:
            cols += list(self.verifier[:, b, :].T)
        if self.use_logprobs:
            cols += self._logprob_columns(np.full(n, b, dtype=np.int64))
        return np.column_stack(cols)

    def pair(self, a: int, b: int) -> tuple[FloatMatrix, npt.NDArray[np.int64]]:
        """Features of the parallel stage a&b and, per row, which model's answer it returns."""
        sa, sb = logit(self.base[:, a]), logit(self.base[:, b])
        returned = np.where(sa >= sb, a, b).astype(np.int64)
        agree = np.nan_to_num(self.agree[:, a, b], nan=0.5)
        cols = [np.maximum(sa, sb), np.minimum(sa, sb), agree - 0.5,
                (agree - 0.5) * np.minimum(sa, sb)]
        if self.use_verifier:
            rows = np.arange(len(returned))
            cols += list(self.verifier[rows, returned, :].T)
        if self.use_logprobs:
            cols += self._logprob_columns(returned)
        return np.column_stack(cols), returned

    def group(self, members: Group) -> tuple[FloatMatrix, IntArray]:
        """Features of the parallel stage `members` and, per row, whose answer it returns.

        Two members are a pair (`pair`, whose layout saved artifacts hold). With three or
        more, the stage returns the majority answer: the member with the highest mean
        agreement with the others (exact for choices and numbers, so this is the plurality
        letter), ties broken by the higher base score.
        """
        if len(members) == 2:
            return self.pair(members[0], members[1])
        idx = np.asarray(members, dtype=np.int64)
        n, g = len(self.base), len(members)
        logits = np.column_stack([logit(self.base[:, j]) for j in members])
        agree = np.nan_to_num(self.agree[:, idx][:, :, idx], nan=0.5)
        share = (agree.sum(axis=2) - np.diagonal(agree, axis1=1, axis2=2)) / (g - 1)
        # Logits lie in ±9.3 (clipped at 1e-4), so a step of 1/(g-1) >= 0.25 in share, worth
        # 100 × 0.25 = 25, always outranks them: the score only breaks ties.
        pick = np.argmax(np.round(share, 6) * 100 + logits, axis=1)
        rows = np.arange(n)
        returned = idx[pick]
        top = share[rows, pick]
        mean_logit = logits.mean(axis=1)
        cols = [logits[rows, pick], logits.max(axis=1), mean_logit, top - 0.5,
                (top - 0.5) * mean_logit, np.min(share, axis=1) - 0.5]
        if self.use_verifier:
            cols += list(self.verifier[rows, returned, :].T)
        if self.use_logprobs:
            cols += self._logprob_columns(returned)
        return np.column_stack(cols), returned


@dataclass
class StackedHeads:
    """Per (predecessor, model) and per parallel stage (pair or vote): the second-level heads."""

    single: dict[int, LogisticHead] = field(default_factory=dict)
    pairs: dict[Group, LogisticHead] = field(default_factory=dict)


def _single_training(
    s: Signals, labels: FloatMatrix, b: int, rows: npt.NDArray[np.int64], m: int
) -> tuple[FloatMatrix, FloatArray]:
    """Model b's rows once per possible predecessor (and once as a first stage)."""
    befores: list[int | None] = [None]
    if s.use_agreement:
        befores += [a for a in range(m) if a != b]
    x = np.vstack([s.single(b, a)[rows] for a in befores])
    y = np.tile(labels[rows, b], len(befores))
    return x, y


def fit_stacked(
    s: Signals, labels: FloatMatrix, scorable: Sequence[int], pairs: Sequence[Group],
    rows: npt.NDArray[np.int64] | None = None,
) -> StackedHeads:
    """Second-level heads fitted on `rows` (default: all)."""
    n, m = labels.shape
    rows = np.arange(n) if rows is None else rows
    heads = StackedHeads()
    for b in scorable:
        x, y = _single_training(s, labels, b, rows, m)
        heads.single[b] = fit_logistic(x, y, STACK_L2)
    for members in pairs:
        x, returned = s.group(tuple(members))
        y = labels[np.arange(n), returned]
        heads.pairs[tuple(members)] = fit_logistic(x[rows], y[rows], STACK_L2)
    return heads


@dataclass
class Scored:
    """Scores for the search: per model first-stage, per (a, b) after a, per parallel stage
    (its score and whose answer it returns)."""

    first: FloatMatrix  # (n, m)
    after: dict[tuple[int, int], FloatArray]
    pairs: dict[Group, tuple[FloatArray, IntArray]]


def apply_stacked(
    s: Signals, heads: StackedHeads, rows: npt.NDArray[np.int64] | None = None,
    out: Scored | None = None,
) -> Scored:
    """Scores of `rows` (default: all) by `heads`, written into `out` when given."""
    n, m = s.base.shape
    rows = np.arange(n) if rows is None else rows
    if out is None:
        out = Scored(np.full((n, m), np.nan), {}, {})
    for b, head in heads.single.items():
        known = ~np.isnan(s.base[rows, b])
        out.first[rows, b] = np.where(known, head.predict(s.single(b, None)[rows]), np.nan)
        if not s.use_agreement:
            continue
        for a in range(m):
            if a == b:
                continue
            column = out.after.setdefault((a, b), np.full(n, np.nan))
            column[rows] = np.where(known, head.predict(s.single(b, a)[rows]), np.nan)
    for members, head in heads.pairs.items():
        x, returned = s.group(members)
        score, ret = out.pairs.setdefault(members, (np.full(n, np.nan), returned))
        score[rows] = head.predict(x[rows])
        ret[rows] = returned[rows]
    return out


def out_of_fold_stacked(
    s: Signals, labels: FloatMatrix, scorable: Sequence[int], pairs: Sequence[Group],
    seed: int = 0,
) -> Scored:
    """Each row scored by stacked heads fitted without its fold."""
    n = len(labels)
    fold = np.random.default_rng(seed).permutation(n) % FOLDS
    out: Scored | None = None
    for k in range(FOLDS):
        inside = np.flatnonzero(fold != k).astype(np.int64)
        held = np.flatnonzero(fold == k).astype(np.int64)
        heads = fit_stacked(s, labels, scorable, pairs, inside)
        out = apply_stacked(s, heads, held, out)
    assert out is not None
    return out
