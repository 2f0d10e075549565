"""Exploration: an `explore_rate` share of a learning tenant's routed decisions go to a
non-greedy candidate, so models the greedy policy never picks still get outcomes.

Among the candidates other than the greedy pick whose expected cost is at most
`explore_max_cost_ratio` times the greedy pick's (and whose worst case fits the tenant's
per-request cap), a k-NN route draws each one's quality from a Beta posterior built from its
neighbours' weighted votes (Thompson sampling) and takes the highest draw; other routers
draw uniformly. The reserve step still downgrades if the request's budget cannot hold it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from gateway.context import RequestContext
from gateway.learning.metrics import LearningMetrics
from routers.base import Candidate, Decision, Policy, RouteRequest


class Explorer:
    def __init__(self, metrics: LearningMetrics | None = None, seed: int | None = None):
        self._rng = random.Random(seed)
        self._np = np.random.default_rng(seed)
        self._metrics = metrics

    async def revise(self, ctx: RequestContext, router: Any, request: RouteRequest,
                     candidates: Sequence[Candidate], policy: Policy,
                     decision: Decision, *, route: str | None = None) -> Decision:
        """`decision`, or an exploratory one (also noted in `ctx.log["explored"]`).

        `route` is the alias being decided (`auto`, `router:knn`), the label of
        `costroute_learning_explored_total`; `ctx.route` is not set until the plan is made.
        Without it the router's kind labels the count."""
        settings = ctx.tenant.learning
        if settings.explore_rate <= 0 or self._rng.random() >= settings.explore_rate:
            return decision
        greedy = next((c for c in candidates if c.model == decision.model), None)
        if greedy is None:
            return decision
        cap = settings.explore_max_cost_ratio * greedy.estimate.expected_cost_usd
        per_request = ctx.tenant.max_cost_per_request_usd
        eligible = [c for c in candidates if c.model != greedy.model
                    and c.estimate.expected_cost_usd <= cap
                    and (per_request is None or c.estimate.max_cost_usd <= per_request)]
        if not eligible:
            return decision
        models = [c.model for c in eligible]
        if _is_knn(router):
            posteriors = await asyncio.to_thread(beta_posteriors, router, request, models)
            draws = [self._np.beta(a, b) for a, b in posteriors]
            chosen, how = eligible[int(np.argmax(draws))], "thompson"
        else:
            chosen, how = self._rng.choice(eligible), "uniform"
        ctx.log.update(explored=True, greedy_model=greedy.model)
        if self._metrics is not None:
            label = route or str(getattr(router, "name", None) or type(router).__name__)
            self._metrics.explored.labels(label).inc()
            self._metrics.counts["explored"] += 1
        return Decision(model=chosen.model,
                        reason=f"explore {how} {chosen.model} (greedy {greedy.model})",
                        predicted_cost_usd=chosen.estimate.expected_cost_usd,
                        runner_up=greedy.model)


def _is_knn(router: Any) -> bool:
    from routers.knn.router import KnnRouter

    return isinstance(router, KnnRouter)


def beta_posteriors(router: Any, request: RouteRequest,
                    models: Sequence[str]) -> list[tuple[float, float]]:
    """(α, β) per model: 1 + the prior's weight, plus the neighbours' weighted votes.

    Weights are the router's own (w_j = exp((s_j - s_1) / τ)); a model the artifact does not
    know gets Beta(1, 1), so exploration is most curious about it.
    """
    from routers.datasets.text import messages_embedding_text
    from routers.knn.index import search
    from routers.knn.predict import model_priors
    from routers.knn.sparse import first_labelled

    # A two-stage router's static stage holds the same outcomes (grown in step) and embeds
    # in ~0.1 ms: the posteriors need no MiniLM pass, which would cost an explored request
    # tens of milliseconds.
    router = getattr(router, "stage1", None) or router
    artifact = router.artifact
    params = router.params
    raw = router.embedder.embed([messages_embedding_text(request.messages)])
    # As deep as the router's own estimates search, so a sparsely labelled model's
    # posterior rests on its k nearest labelled neighbours, not on the few inside the top k.
    sims, idx = search(artifact.index, artifact.space_vectors(raw), router.search_depth)
    valid = idx[0] >= 0
    s = sims[0][valid].astype(np.float64)
    rows = idx[0][valid]
    w = np.exp((s - s.max()) / params.tau) if len(s) else s
    scores = artifact.scores
    priors = model_priors(scores)
    out = []
    for model in models:
        if model not in artifact.models:
            out.append((1.0, 1.0))
            continue
        j = artifact.models.index(model)
        y = scores[rows, j]
        known = first_labelled(~np.isnan(y)[None, :, None], int(router.model_ks[j]))[0, :, 0]
        yes = float((w[known] * y[known]).sum())
        no = float((w[known] * (1.0 - y[known])).sum())
        prior = params.prior_weight
        out.append((1.0 + prior * priors[j] + yes, 1.0 + prior * (1.0 - priors[j]) + no))
    return out
