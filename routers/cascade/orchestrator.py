"""`CascadeOrchestrator`: FrugalGPT's cascade, live, one reserved and settled call per stage.

Each non-final stage's answer is scored (g(query, answer) → P(correct)) and accepted when
the score reaches the stage's threshold; otherwise the next stage is called. An artifact
trained with post-generation signals (`signal_heads.py`) scores with its stacked heads:
agreement with the previous stage's answer, the code verifier, token logprobs; and its
parallel stages ("a&b", or vote stages "a&b&c") call their models at once and accept on
their agreement (a vote stage returns the majority answer). Upstream
failures escalate. When the last stage fails (or the budget stops the next stage) after an
earlier stage answered, the best-scored answer already paid for is returned rather than an
error. The gateway sums the stages' costs and puts the trace summaries in
`x-costroute-route`.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from routers.cascade.live import (
    Answered,
    LiveSignals,
    answer_logprobs,
    live_verifier_features,
    prompt_text,
)
from routers.cascade.plan import allowed_stages, start_from
from routers.cascade.scorer import AnswerScorer
from routers.cascade.self_verify import self_verify
from routers.cascade.strategy import Stage, Strategy, stage_models
from routers.embedding import (
    Embedder,
    EncoderMismatch,
    HashingEmbedder,
    MiniLMEmbedder,
    shared_embedder,
)

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
        signals: LiveSignals | None = None,
        self_verify_model: str | None = None,
    ):
        self.artifact = artifact
        self.scorer = scorer
        self.strategy = strategy or artifact.strategy
        self.start_router = start_router
        self.signals = signals
        self.self_verify_model = self_verify_model

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
        limit = dict(request.answer_params())  # every stage answers the client's question
        if self.signals is not None and self.signals.config.logprobs:
            limit["logprobs"] = True  # a scorer feature; stripped from the client's answer
        warming = self._prepare(request) if len(stages) > 1 else None
        previous: Answered | None = None
        for k, stage in enumerate(stages):
            final = k == len(stages) - 1
            models = self._stage_models(stage)
            results, failures, over_budget = await _call_all(call, models, request, limit)
            for model, exc in failures:
                tried.append(_failed(model, tiers.get(model, "remote"), exc))
            tried.extend(results)
            if not results:
                if over_budget is not None:
                    if rejected:
                        return _keep_best(rejected, tried, trace, f"budget stops {stage.model}")
                    raise over_budget
                exc = failures[0][1]
                trace.append(_entry(stage.model, None, 0.0,
                                    f"failed ({exc.code}) -> escalate" if not final
                                    else f"failed ({exc.code})"))
                if final:
                    if rejected:
                        return _keep_best(rejected, tried, trace, "last stage failed")
                    raise exc
                continue
            cost = sum(r.cost_usd for r in results)
            if len(results) == 1 and (final or stage.accept_at is None):
                trace.append(_entry(stage.model, None, cost, "final"))
                return self._done(results[0], tried, trace)
            score, chosen, answered = await self._score_stage(
                results, request, previous, warming)
            if answered is not None:
                previous = answered
            if final or stage.accept_at is None:
                trace.append(_entry(stage.model, score, cost, f"final ({chosen.model})"))
                return self._done(chosen, tried, trace)
            if score is None:
                trace.append(_entry(stage.model, None, cost, "unscored -> escalate"))
                rejected.append((0.0, chosen))
                continue
            if score >= stage.accept_at and self.self_verify_model is not None:
                said, paid, why = await self_verify(
                    call, self.self_verify_model, request.messages, chosen.text)
                if paid is not None:
                    tried.append(paid)
                    cost += paid.cost_usd
                if said is False:
                    trace.append(_entry(stage.model, score, cost, f"{why} -> escalate"))
                    rejected.append((score, chosen))
                    continue
                trace.append({"summary": why, "model": self.self_verify_model,
                              "decision": "verified" if said else "unverified"})
            if score >= stage.accept_at:
                shown = f" {chosen.model}" if len(models) > 1 else ""
                trace.append(_entry(stage.model, score, cost,
                                    f"accept{shown} (>={stage.accept_at:.2f})"))
                return self._done(chosen, tried, trace)
            trace.append(
                _entry(stage.model, score, cost, f"escalate (<{stage.accept_at:.2f})")
            )
            rejected.append((score, chosen))
        raise AssertionError("a cascade plan always ends with a final stage")

    def _stage_models(self, stage: Stage) -> list[str]:
        """The models a stage calls: a trained parallel stage's, or its one model."""
        if self.signals is not None and self.signals.is_parallel(stage.model):
            return stage_models(stage.model)
        return [stage.model]

    def _done(self, final: StageResult, tried: list[StageResult],
              trace: list[dict[str, Any]]) -> Orchestration:
        if self.signals is not None and self.signals.config.logprobs:
            final = _without_logprobs(final)
        return Orchestration(final=final, stages=tried, trace=trace)

    async def _score_stage(
        self,
        results: Sequence[StageResult],
        request: RouteRequest,
        previous: Answered | None,
        warming: asyncio.Future[None] | None,
    ) -> tuple[float | None, StageResult, Answered | None]:
        """(score, returned answer, its signals) of one stage's answers.

        Without stacked signal heads a stage is scored by the base scorer alone. With them,
        each answer's base score, verifier and logprob features feed its model's stacked
        head (with agreement with `previous`), and a parallel stage's pair head reads both
        answers and returns the one with the higher base score.
        """
        bases = [await self._score(r.model, request, r, warming) for r in results]
        signals = self.signals
        if signals is None:
            ranked = [(-1.0 if b is None else b, i) for i, b in enumerate(bases)]
            best = max(ranked)[1]
            return bases[best], results[best], None
        try:
            answered = await asyncio.to_thread(
                self._answered, signals, request, results, bases)
            usable = [a for a in answered if a is not None]
            if len(usable) >= 2 and tuple(u.model for u in usable) in signals.heads.pairs:
                score, returned = await asyncio.to_thread(signals.score_group, usable)
                chosen = next(r for r in results if r.model == returned.model)
                return score, chosen, returned
            if not usable:
                return None, results[0], None
            one = max(usable, key=lambda a: a.base)
            chosen = next(r for r in results if r.model == one.model)
            if not signals.can_score(one.model):
                return one.base, chosen, one
            return await asyncio.to_thread(signals.score, one, previous), chosen, one
        except Exception:  # a broken signal must not fail the request
            log.exception("cascade: stacked signal scoring failed; escalating")
            return None, results[0], None

    def _answered(
        self,
        signals: LiveSignals,
        request: RouteRequest,
        results: Sequence[StageResult],
        bases: Sequence[float | None],
    ) -> list[Answered | None]:
        """Each result's `Answered` (None where the base scorer could not score it)."""
        prompt = prompt_text(request.messages)
        out: list[Answered | None] = []
        for result, base in zip(results, bases, strict=True):
            if base is None or result.model not in signals.index:
                out.append(None)
                continue
            verifier = (live_verifier_features(result.text, prompt, signals.sandboxes)
                        if signals.config.verifier else None)
            out.append(Answered(result.model, result.text, base, verifier,
                                answer_logprobs(result.response)))
        return out

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


async def _call_all(
    call: CallModel,
    models: Sequence[str],
    request: RouteRequest,
    limit: Mapping[str, Any],
) -> tuple[list[StageResult], list[tuple[str, GatewayError]], BudgetExceeded | None]:
    """Calls a stage's models at once (each reserved and settled by `call`): the answers,
    the upstream failures, and the budget refusal if one stopped a call."""
    outcomes = await asyncio.gather(
        *(call(model, request.messages, limit) for model in models), return_exceptions=True
    )
    results: list[StageResult] = []
    failures: list[tuple[str, GatewayError]] = []
    over_budget: BudgetExceeded | None = None
    for model, outcome in zip(models, outcomes, strict=True):
        if isinstance(outcome, BudgetExceeded):
            over_budget = outcome
        elif isinstance(outcome, GatewayError):
            failures.append((model, outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            results.append(outcome)
    return results, failures, over_budget


def _without_logprobs(result: StageResult) -> StageResult:
    """The answer without the logprobs the cascade asked for (the client did not)."""
    response = dict(result.response)
    response["choices"] = [
        {k: v for k, v in choice.items() if k != "logprobs"}
        for choice in response.get("choices") or []
    ]
    return dataclasses.replace(result, response=response)


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
    """The process-wide embedder of the encoder the scorer was trained with.

    Artifacts from before the field was written used MiniLM. A scorer fed another encoder's
    vectors would score garbage without failing, so a width mismatch refuses to load.
    """
    name = artifact.embedder_name or MiniLMEmbedder.name
    if name == HashingEmbedder.name:
        return HashingEmbedder(dim=artifact.embedder_dim)
    embedder = shared_embedder(name)
    if artifact.embedder_dim and embedder.dim and embedder.dim != artifact.embedder_dim:
        raise EncoderMismatch(
            f"the cascade's scorer was trained on {artifact.embedder_dim}-dim vectors of "
            f"{name!r}, but that encoder gives {embedder.dim} here"
        )
    return embedder


def load_cascade(
    artifact: str | Path,
    *,
    budget_usd: float | None = None,
    quality_target: float | None = None,
    start_with_router: str | Path | None = None,
    embedder: Embedder | None = None,
    self_verify_model: str | None = None,
    **router_options: Any,
) -> CascadeOrchestrator:
    """A cascade over the artifact directory.

    `budget_usd` / `quality_target` pick another strategy of the Pareto set than the one
    trained for; `start_with_router` is a k-NN artifact directory whose pick is the first
    stage (route first, escalate if unsure); `self_verify_model` asks that model whether
    an answer the scorer accepts is right before accepting it (`self_verify.py`);
    `router_options` go to the start router.
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
    signals = None
    if loaded.signals is not None:
        signals = LiveSignals(loaded.signals, scorer.embedder.embed)
    return CascadeOrchestrator(loaded, scorer, strategy, start_router, signals,
                               self_verify_model)
