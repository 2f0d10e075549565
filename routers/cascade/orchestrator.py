"""`CascadeOrchestrator`: FrugalGPT's cascade, live, one reserved and settled call per stage.

Each non-final stage's answer is scored (g(query, answer) → P(correct)) and accepted when
the score reaches the stage's threshold; otherwise the next stage is called. Upstream
failures escalate. When the last stage fails (or the budget stops the next stage) after an
earlier stage answered, the best-scored answer already paid for is returned rather than an
error. The gateway sums the stages' costs and puts the trace summaries in
`x-costroute-route`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gateway.errors import BudgetExceeded, GatewayError
from pricing.usage import Usage
from routers.base import (
    CallModel,
    Candidate,
    Orchestration,
    Policy,
    Router,
    RouteRequest,
    StageResult,
)
from routers.cascade.artifact import CascadeArtifact, load_artifact
from routers.cascade.plan import allowed_stages, start_from
from routers.cascade.scorer import AnswerScorer
from routers.cascade.strategy import Stage, Strategy
from routers.embedding import Embedder, HashingEmbedder, default_embedder

log = logging.getLogger("costroute.cascade")

# A budget the tenant's policy may set per request (USD per query) to pick from the Pareto set.
BUDGET_PARAM = "cascade_budget_usd"


class ChatScorer(Protocol):
    """What the orchestrator needs of a scorer (`AnswerScorer`, or a test double)."""

    def score_chat(
        self, model: str, messages: Sequence[Mapping[str, Any]], answer: str
    ) -> float: ...


@runtime_checkable
class PreparingScorer(ChatScorer, Protocol):
    """A scorer that can embed the query ahead of the first answer (fills its cache)."""

    def prepare(self, messages: Sequence[Mapping[str, Any]]) -> None: ...


class CascadeOrchestrator:
    """Runs a trained cascade strategy; optionally starts where a router points."""

    name = "cascade"

    def __init__(
        self,
        artifact: CascadeArtifact,
        scorer: ChatScorer,
        strategy: Strategy | None = None,
        start_router: Router | None = None,
    ):
        self.artifact = artifact
        self.scorer = scorer
        self.strategy = strategy or artifact.strategy
        self.start_router = start_router

    def strategy_for(self, policy: Policy) -> Strategy:
        """The load-time strategy, unless the policy asks for a budget or quality target."""
        budget = policy.params.get(BUDGET_PARAM)
        if budget is not None:
            within = [s for s in self.artifact.pareto if s.cost_usd <= float(budget)]
            return within[-1] if within else self.artifact.pareto[0]
        if policy.objective == "quality_target" and policy.knob > 0:
            reaching = [s for s in self.artifact.pareto if s.accuracy >= policy.knob]
            return reaching[0] if reaching else self.artifact.pareto[-1]
        return self.strategy

    async def plan(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> tuple[list[Stage], list[dict[str, Any]]]:
        """The stages to try for this request, and trace entries explaining the choice."""
        allowed = [c.model for c in candidates]
        strategy = self.strategy_for(policy)
        stages = allowed_stages(strategy, allowed)
        trace: list[dict[str, Any]] = []
        if not stages:
            fallback = self._fallback_model(candidates)
            trace.append(
                {"summary": f"no stage of the cascade is allowed; answering with {fallback}"}
            )
            return [Stage(fallback)], trace
        if self.start_router is not None and len(stages) > 1:
            pool = [c for c in candidates if c.model in {s.model for s in strategy.stages}]
            decision = await asyncio.to_thread(self.start_router.route, request, pool, policy)
            cost = {c.model: c.estimate.expected_cost_usd for c in candidates}
            stages = start_from(stages, decision.model, cost)
            trace.append(
                {
                    "summary": f"router picked {decision.model}: start at {stages[0].model}",
                    "router_pick": decision.model,
                }
            )
        return stages, trace

    def _fallback_model(self, candidates: Sequence[Candidate]) -> str:
        known = self.artifact.manifest.get("metrics", {}).get("single_models", {})
        scored = [(known[c.model]["accuracy"], c.model) for c in candidates if c.model in known]
        return max(scored)[1] if scored else candidates[0].model

    async def run(
        self,
        request: RouteRequest,
        candidates: Sequence[Candidate],
        policy: Policy,
        call: CallModel,
    ) -> Orchestration:
        stages, trace = await self.plan(request, candidates, policy)
        tiers = {c.model: c.tier for c in candidates}
        tried: list[StageResult] = []
        rejected: list[tuple[float, StageResult]] = []
        limit = request.answer_params()  # every stage answers the client's question
        warming = self._prepare(request) if len(stages) > 1 else None
        for k, stage in enumerate(stages):
            final = k == len(stages) - 1
            try:
                result = await call(stage.model, request.messages, limit)
            except BudgetExceeded:
                if rejected:
                    return _keep_best(rejected, tried, trace, f"budget stops {stage.model}")
                raise
            except GatewayError as exc:
                tried.append(_failed(stage.model, tiers.get(stage.model, "remote"), exc))
                trace.append(
                    _entry(
                        stage.model,
                        None,
                        0.0,
                        f"failed ({exc.code}) -> escalate" if not final else f"failed ({exc.code})",
                    )
                )
                if final:
                    if rejected:
                        return _keep_best(rejected, tried, trace, "last stage failed")
                    raise
                continue
            tried.append(result)
            if final or stage.accept_at is None:
                trace.append(_entry(stage.model, None, result.cost_usd, "final"))
                return Orchestration(final=result, stages=tried, trace=trace)
            score = await self._score(stage.model, request, result, warming)
            if score is None:
                trace.append(_entry(stage.model, None, result.cost_usd, "unscored -> escalate"))
                rejected.append((0.0, result))
                continue
            if score >= stage.accept_at:
                trace.append(
                    _entry(stage.model, score, result.cost_usd, f"accept (>={stage.accept_at:.2f})")
                )
                return Orchestration(final=result, stages=tried, trace=trace)
            trace.append(
                _entry(stage.model, score, result.cost_usd, f"escalate (<{stage.accept_at:.2f})")
            )
            rejected.append((score, result))
        raise AssertionError("a cascade plan always ends with a final stage")

    def _prepare(self, request: RouteRequest) -> asyncio.Future[None] | None:
        """Starts embedding the query in a worker thread while the first stage answers."""
        if not isinstance(self.scorer, PreparingScorer):
            return None
        scorer = self.scorer

        def prepare() -> None:
            try:
                scorer.prepare(request.messages)
            except Exception:  # scoring will embed the query itself, or fail and escalate
                log.exception("cascade: embedding the query ahead of scoring failed")

        return asyncio.ensure_future(asyncio.to_thread(prepare))

    async def _score(self, model: str, request: RouteRequest, result: StageResult,
                     warming: asyncio.Future[None] | None = None) -> float | None:
        """The answer's score, off the event loop; None if scoring failed (we escalate)."""
        if warming is not None:
            await warming  # the query's vector is then in the embedder's cache
        try:
            return await asyncio.to_thread(
                self.scorer.score_chat, model, request.messages, result.text
            )
        except Exception:  # a broken scorer must not fail the request
            log.exception("cascade: scoring %s's answer failed; escalating", model)
            return None


def _entry(model: str, score: float | None, cost: float, decision: str) -> dict[str, Any]:
    shown = "" if score is None else f" score={score:.2f}"
    return {
        "summary": f"{model}{shown} ${cost:.6f} -> {decision}",
        "model": model,
        "score": score,
        "cost_usd": cost,
        "decision": decision,
    }


def _failed(model: str, tier: str, exc: GatewayError) -> StageResult:
    return StageResult(model, {}, Usage(0, 0), 0.0, tier, error=exc.message)  # type: ignore[arg-type]


def _keep_best(
    rejected: list[tuple[float, StageResult]],
    tried: list[StageResult],
    trace: list[dict[str, Any]],
    why: str,
) -> Orchestration:
    score, best = max(rejected, key=lambda pair: pair[0])
    trace.append(
        {
            "summary": f"{why}: returning {best.model} (score={score:.2f})",
            "model": best.model,
            "score": score,
            "decision": "kept best rejected",
        }
    )
    return Orchestration(final=best, stages=tried, trace=trace)


def scorer_embedder(artifact: CascadeArtifact) -> Embedder:
    """The embedder the scorer was trained with: MiniLM, or the hashing test embedder."""
    if artifact.embedder_name == HashingEmbedder.name:
        return HashingEmbedder(dim=artifact.embedder_dim)
    return default_embedder()


def load_cascade(
    artifact: str | Path,
    *,
    budget_usd: float | None = None,
    quality_target: float | None = None,
    start_with_router: str | Path | None = None,
    embedder: Embedder | None = None,
    **router_options: Any,
) -> CascadeOrchestrator:
    """A cascade over the artifact directory.

    `budget_usd` / `quality_target` pick another strategy of the Pareto set than the one
    trained for; `start_with_router` is a k-NN artifact directory whose pick is the first
    stage (route first, escalate if unsure); `router_options` go to that router.
    """
    loaded = load_artifact(artifact)
    strategy: Strategy | None = None
    if budget_usd is not None:
        within = [s for s in loaded.pareto if s.cost_usd <= budget_usd]
        if not within:
            raise ValueError(f"{artifact}: no cascade strategy costs ≤ ${budget_usd:g}/query")
        strategy = within[-1]
    elif quality_target is not None:
        reaching = [s for s in loaded.pareto if s.accuracy >= quality_target]
        if not reaching:
            raise ValueError(f"{artifact}: no cascade strategy reaches accuracy {quality_target:g}")
        strategy = reaching[0]
    start_router: Router | None = None
    if start_with_router is None and router_options:
        raise ValueError(f"unknown cascade option(s): {', '.join(sorted(router_options))}")
    if start_with_router is not None:
        from routers.knn.router import load_knn_router

        start_router = load_knn_router(start_with_router, **router_options)
    embed_answer = bool(loaded.manifest.get("scorer", {}).get("embed_answer", True))
    scorer = AnswerScorer(loaded.heads, embedder or scorer_embedder(loaded), embed_answer)
    return CascadeOrchestrator(loaded, scorer, strategy, start_router)
