"""Offline replay of a cascade artifact against recorded outcomes (for `costroute eval`).

`load_replayable(directory, manifest)` is the factory `eval.registry` looks up for artifacts
of kind "cascade". The candidate's cost knob is the artifact's Pareto set: one sweep step per
strategy, keyed by the mean cost per query it had in training, which is the budget that
selects it when serving (`cascade_budget_usd`).

On each prompt a strategy tries its stages in order, as serving does: the scorer judges the
stage model's recorded answer (`M|model_response`) and the stage accepts when the score
reaches its threshold. The prompt's cost is the sum of the recorded costs of every stage
tried; its score is the recorded outcome of the stage that answered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from routers.cascade.strategy import Strategy, replay
from routers.datasets.format import RoutingDataset
from routers.embedding import Embedder

if TYPE_CHECKING:
    from eval.sweep import Outcomes

FloatArray = npt.NDArray[np.float64]
FloatMatrix = npt.NDArray[np.float64]
BoolMatrix = npt.NDArray[np.bool_]


class BatchScorer(Protocol):
    """What replay needs of a scorer (`AnswerScorer`, or a fixed scorer in tests)."""

    def can_score(self, model: str) -> bool: ...

    def score_many(
        self, model: str, queries: Sequence[str], answers: Sequence[str]
    ) -> FloatArray: ...


class CascadeReplayable:
    """A cascade as an eval candidate: one `Outcomes` step per strategy of its Pareto set."""

    kind = "cascade"

    def __init__(self, strategies: Sequence[Strategy], scorer: BatchScorer, name: str = "cascade"):
        if not strategies:
            raise ValueError("a cascade candidate needs at least one strategy")
        self.strategies = sorted(strategies, key=lambda s: _order(s.cost_usd))
        self.scorer = scorer
        self.name = name

    def sweep(self, dataset: RoutingDataset) -> list[Outcomes]:
        """Each strategy's per-prompt cost and score; a ValueError names what is missing."""
        from eval.sweep import Outcomes

        check_models(self.strategies, dataset)
        scores = self.stage_scores(dataset)
        knobs = _knobs(self.strategies)
        steps = []
        for knob, strategy in zip(knobs, self.strategies):
            cost, score, calls = replay_rows(strategy, dataset, scores)
            steps.append(Outcomes(knob, cost, score, calls))
        return steps

    def stage_scores(self, dataset: RoutingDataset) -> FloatMatrix:
        """(n, n_models) scores of the recorded answers of every non-final stage model.

        NaN where the model is no non-final stage, has no scorer head (it always escalates,
        as serving does when scoring fails) or has no recorded answer on that row.
        """
        scores = np.full(dataset.scores.shape, np.nan)
        for model in scored_models(self.strategies):
            rows = answered_rows(dataset, model)
            if not self.scorer.can_score(model) or rows.size == 0:
                continue
            answers = dataset.responses[model]
            scores[rows, dataset.models.index(model)] = self.scorer.score_many(
                model,
                [dataset.prompts[i] for i in rows],
                [answers[i] or "" for i in rows],
            )
        return scores


def check_models(strategies: Sequence[Strategy], dataset: RoutingDataset) -> None:
    """A ValueError saying why the cascade does not apply if `dataset` lacks a stage model."""
    wanted = list(dict.fromkeys(m for s in strategies for m in s.models))
    missing = [m for m in wanted if m not in dataset.models]
    if not missing:
        return
    why = f"not applicable: {dataset.name} has no outcomes of its stage models {missing}"
    if not dataset.responses:
        why += " and records no answers (`M|model_response`) for its scorer to judge"
    raise ValueError(why)


def scored_models(strategies: Sequence[Strategy]) -> list[str]:
    """Models that are a non-final stage of some strategy, in first-seen order."""
    out: list[str] = []
    for strategy in strategies:
        for stage in strategy.stages[:-1]:
            if stage.model not in out:
                out.append(stage.model)
    return out


def answered_rows(dataset: RoutingDataset, model: str) -> npt.NDArray[np.int64]:
    """Rows with a recorded answer of `model`; a ValueError if rows with an outcome lack one.

    Without the answer the scorer cannot decide whether the stage accepts, so such rows
    cannot be replayed. Rows whose outcome is unknown anyway are let through (they are
    unknown for the cascade too).
    """
    column = f"{model}|model_response"
    responses = dataset.responses.get(model)
    if responses is None:
        raise ValueError(
            f"not applicable: {dataset.name} has no column `{column}`; the cascade's scorer "
            f"must judge {model}'s recorded answer to decide whether to escalate"
        )
    has_answer = np.array([r is not None for r in responses], dtype=np.bool_)
    known = ~np.isnan(dataset.scores[:, dataset.models.index(model)])
    lacking = int((known & ~has_answer).sum())
    if lacking:
        raise ValueError(
            f"not applicable: `{column}` is empty on {lacking} of {len(dataset)} rows of "
            f"{dataset.name} that have an outcome; the cascade's scorer must judge {model}'s "
            "recorded answer to decide whether to escalate"
        )
    return np.flatnonzero(has_answer).astype(np.int64)


def replay_rows(
    strategy: Strategy, dataset: RoutingDataset, scores: FloatMatrix
) -> tuple[FloatArray, FloatArray, BoolMatrix]:
    """(cost, score, calls) per prompt of `strategy` on `dataset`, given the stage scores.

    cost: the sum of the recorded costs of the stages tried; score: the recorded outcome of
    the stage that answered; calls (n, n_models): the models tried. A prompt is unknown
    (NaN) when a stage it reached has no recorded answer, cost or (answering) outcome.
    """
    n = len(dataset)
    cols = np.array([dataset.models.index(m) for m in strategy.models], dtype=np.int64)
    answered_by = replay(
        strategy, dataset.models, scores, dataset.scores, dataset.costs
    ).answered_by
    tried = np.arange(len(cols))[None, :] <= answered_by[:, None]
    stage_costs = dataset.costs[:, cols]
    cost = np.where(tried, stage_costs, 0.0).sum(axis=1)
    score = dataset.scores[np.arange(n), cols[answered_by]].astype(np.float64)
    unanswered = np.zeros_like(tried)
    for k, stage in enumerate(strategy.stages[:-1]):
        responses = dataset.responses.get(stage.model, [None] * n)
        unanswered[:, k] = [r is None for r in responses]
    unknown = np.isnan(score) | np.isnan(cost) | (tried & unanswered).any(axis=1)
    score[unknown] = np.nan
    cost[unknown] = np.nan
    calls = np.zeros(dataset.scores.shape, dtype=np.bool_)
    calls[:, cols] = tried
    return cost, score, calls


def _order(cost: float) -> float:
    return math.inf if math.isnan(cost) else cost


def _knobs(strategies: Sequence[Strategy]) -> list[float]:
    """Training mean cost of each strategy; its rank when any cost is unknown or repeated."""
    costs = [s.cost_usd for s in strategies]
    if any(math.isnan(c) for c in costs) or len(set(costs)) < len(costs):
        return [float(i) for i in range(len(costs))]
    return costs


def load_replayable(directory: Path, manifest: Mapping[str, Any],
                    embedder: Embedder | None = None) -> CascadeReplayable:
    """The eval registry's factory for artifacts of kind "cascade": its whole Pareto set.
    `embedder` (of the scorer's encoder) replaces the process-wide one."""
    from routers.cascade.artifact import load_artifact
    from routers.cascade.orchestrator import scorer_embedder
    from routers.cascade.scorer import AnswerScorer

    artifact = load_artifact(directory)
    embed_answer = bool(artifact.manifest.get("scorer", {}).get("embed_answer", True))
    scorer = AnswerScorer(artifact.heads, embedder or scorer_embedder(artifact), embed_answer)
    strategies = artifact.pareto or [artifact.strategy]
    return CascadeReplayable(strategies, scorer, name=str(manifest.get("name", "cascade")))
