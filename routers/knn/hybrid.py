"""The two-stage ("speculative") k-NN router: the static encoder first, MiniLM when unsure.

Stage 1 embeds the prompt with the static encoder (~0.1 ms) and ranks the candidates from
its neighbours among the reference prompts; when the margin of that decision clears the
artifact's gate (routers.knn.gate) it is final. Otherwise the prompt is embedded with MiniLM
(~10-50 ms) and decided by the MiniLM stage, which is this router itself: a
`HybridKnnRouter` is a `KnnRouter` over the MiniLM artifact, so online learning,
exploration and offline replay keep treating it as one, with a static router beside it.

`fit_stage1` builds the first stage and fits its gate (out of fold on TRAIN) while
`routers.knn.fit` trains the artifact; both stages read the same reference prompts and
outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.base import Candidate, Decision, Objective, Policy, PromptVector, RouteRequest
from routers.datasets.format import RoutingDataset
from routers.datasets.split import fold_ids
from routers.datasets.text import messages_embedding_text, text_hash
from routers.embedding import Embedder, NoEmbedder
from routers.knn.artifact import KnnArtifact, Stage1
from routers.knn.gate import (
    Gate,
    Predictions,
    decision_margin,
    fit_gate,
    objective_knobs,
    two_stage_choices,
)
from routers.knn.grow import Grown, add_prompts
from routers.knn.index import build_index, kind_for_encoder
from routers.knn.predict import KnnParams
from routers.knn.projection import Projection, Vectors
from routers.knn.router import KnnRouter, embedder_for

IntArray = npt.NDArray[np.int64]
log = logging.getLogger(__name__)
# The two stages may lose at most this much AIQ against MiniLM alone on held-out prompts; the
# issue's rule is 0.005 on TEST, so the gate keeps most of that for held-out-to-test noise.
GATE_TOLERANCE = 0.002
GATE_FOLDS = 5
OTHER_OBJECTIVES: tuple[Objective, ...] = ("cheapest_within_eps", "quality_target")


class HybridKnnRouter(KnnRouter):
    """Decides with the static stage when its gate says sure, else with MiniLM (itself)."""

    def __init__(
        self,
        artifact: KnnArtifact,
        embedder: Embedder | None = None,
        params: KnnParams | None = None,
        stage1_embedder: Embedder | None = None,
    ):
        if artifact.stage1 is None:
            raise ValueError("a two-stage router needs an artifact with a static stage")
        super().__init__(artifact, embedder, params)
        first = artifact.stage1.artifact
        self.stage1: KnnRouter | None = KnnRouter(
            first, stage1_embedder or embedder_for(first), first.params)
        self.gate: Gate = artifact.stage1.gate
        self._missing = ""
        try:  # loads the static table now (~30 MB): a missing model shows at load, not later
            self.stage1.embedder.embed(["costroute"])
        except FileNotFoundError as exc:
            # The shipped default is two-stage, but the static model is distilled at setup:
            # without it the router still serves, on MiniLM alone.
            log.warning("k-NN static stage unavailable, deciding with MiniLM only: %s", exc)
            self.stage1, self._missing = None, str(exc)

    def route(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> Decision:
        text = messages_embedding_text(request.messages)
        if self.stage1 is None:
            return self._second(text, candidates, policy, "static stage unavailable")
        first = self.stage1.embedder
        raw = first.embed([text])
        ranked, unknown = self.stage1.rank(raw, candidates, policy)
        margin = decision_margin(ranked, policy)
        threshold = self.gate.threshold_for(policy.objective)
        if margin >= threshold:
            label = f"{self.label()} stage 1 ({first.name}, margin {margin:.3g} >= " \
                    f"{threshold:.3g})"
            return self.decision(PromptVector(text, first.name, raw[0]), ranked, unknown,
                                 policy, label)
        return self._second(text, candidates, policy,
                            f"stage-1 margin {margin:.3g} < {threshold:.3g}")

    def _second(
        self, text: str, candidates: Sequence[Candidate], policy: Policy, why: str
    ) -> Decision:
        raw = self.embedder.embed([text])
        ranked, unknown = self.rank(raw, candidates, policy)
        label = f"{self.label()} stage 2 ({self.embedder.name}; {why})"
        return self.decision(PromptVector(text, self.embedder.name, raw[0]), ranked, unknown,
                             policy, label)

    def label(self) -> str:
        version = self.version
        return f"knn-hybrid[{self.space}]@{version}" if version else f"knn-hybrid[{self.space}]"

    def add_outcomes(
        self,
        prompts: Sequence[str],
        scores: dict[str, list[float]],
        costs: dict[str, list[float]],
    ) -> Grown:
        """Labelled prompts join both stages' reference sets (rows stay in step)."""
        grown = super().add_outcomes(prompts, scores, costs)
        if self.stage1 is None:  # cannot embed for it: drop it rather than let it fall behind
            self.artifact.stage1 = None
            return grown
        hashes = [text_hash(p) for p in prompts]
        add_prompts(self.stage1.artifact, self.stage1.embed_prompts(prompts), hashes, scores,
                    costs)
        self.stage1._reference_stats()
        return grown

    def stage_predictions(
        self, prompts: Sequence[str], exclude: IntArray | None = None,
    ) -> tuple[Predictions, Predictions]:
        """Each stage's quality and cost estimates for `prompts` (offline; `exclude`: each
        prompt's own reference row, the same in both stages since their rows are in step)."""
        if self.stage1 is None:
            raise RuntimeError(f"the static stage is unavailable: {self._missing}")
        first = Predictions(*self.stage1.predict(self.stage1.embed_prompts(prompts),
                                                 exclude=exclude))
        second = Predictions(*self.predict(self.embed_prompts(prompts), exclude=exclude))
        return first, second

    def sweep_choices(
        self, prompts: Sequence[str], knobs: Sequence[float], allowed: npt.NDArray[np.bool_],
        exclude: IntArray | None = None,
    ) -> tuple[list[IntArray], list[float]]:
        """Offline replay: the column chosen per prompt at each max_utility knob, and the
        share of the prompts stage 1 decided at each knob."""
        first, second = self.stage_predictions(prompts, exclude)
        out, shares = [], []
        for knob in knobs:
            picked, sure = two_stage_choices(first, second, knob,
                                             self.gate.threshold_for("max_utility"), allowed)
            out.append(picked)
            shares.append(float(sure.mean()) if len(sure) else 1.0)
        return out, shares


def fit_stage1(
    ds: RoutingDataset,
    static_raw: Vectors,
    static_name: str,
    second: Vectors,
    params: KnnParams,
    seed: int = 0,
    folds: int = GATE_FOLDS,
    tolerance: float = GATE_TOLERANCE,
) -> Stage1:
    """The static stage over all of `ds` (TRAIN) and its gate, fitted out of fold.

    `second` holds the second stage's vectors of `ds` in its serving space. Each prompt
    is predicted by both stages from the other folds only (folds grouped by normalised
    prompt), so the gate sees every TRAIN prompt held out once: a 15% hold-out of a few
    thousand prompts measured AIQ too noisily to tell the stages apart.
    """
    fold = fold_ids(ds.prompts, folds, seed)
    first_q, first_c = np.empty(ds.scores.shape), np.empty(ds.scores.shape)
    second_q, second_c = np.empty(ds.scores.shape), np.empty(ds.scores.shape)
    for f in range(folds):
        out, ref = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        for vectors, q, c in ((static_raw, first_q, first_c), (second, second_q, second_c)):
            reference = _static_artifact(ds.models, vectors[ref], ds.scores[ref], ds.costs[ref],
                                         params, "flat")
            q[out], c[out] = KnnRouter(reference, embedder=NoEmbedder()).predict(vectors[out])
    gate = fit_gates(Predictions(first_q, first_c), Predictions(second_q, second_c), ds.scores,
                     ds.costs, tolerance)
    gate.fitted.update(on=f"TRAIN, {folds}-fold out of fold (grouped by prompt)")
    full = _static_artifact(ds.models, static_raw, ds.scores, ds.costs, params,
                            kind_for_encoder("auto", static_name, len(ds)))
    full.prompt_hashes = [text_hash(p) for p in ds.prompts]
    full.manifest = {"dataset": ds.name, "embedder": static_name, "stage": 1,
                     "default_space_reason": "the static stage is not projected"}
    return Stage1(full, gate)


def fit_gates(first: Predictions, second: Predictions, scores: Any, costs: Any,
              tolerance: float) -> Gate:
    """max_utility's gate, with each other objective's threshold fitted on its own knobs
    (routers.knn.gate) and its figures under `fitted["by_objective"]`."""
    def one(objective: Objective) -> Gate:
        knobs = objective_knobs(objective, costs, second.quality)
        return fit_gate(first, second, scores, costs, knobs, tolerance, objective=objective)

    gate = one("max_utility")
    others = {objective: one(objective) for objective in OTHER_OBJECTIVES}
    fitted = {**gate.fitted, "by_objective": {k: g.fitted for k, g in others.items()}}
    return Gate(gate.threshold, fitted, {k: g.threshold for k, g in others.items()})


def _static_artifact(
    models: list[str], raw: Vectors, scores: Any, costs: Any, params: KnnParams, kind: Any,
) -> KnnArtifact:
    from routers.knn.descriptors import outcome_descriptors

    artifact = KnnArtifact(
        models=list(models), raw=raw, prompt_hashes=[], scores=scores, costs=costs,
        # Raw space: an identity projection of a few hundred bytes keeps the layout whole.
        projection=Projection.identity(raw.shape[1]),
        descriptors=outcome_descriptors(raw, scores), default_space="raw", params=params,
    )
    artifact.index = build_index(raw, kind)
    return artifact
