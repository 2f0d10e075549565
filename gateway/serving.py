"""The chat pipeline: resolve, estimate, route, reserve, call, settle, respond."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.accounting import price_usage, response_text, usage_of
from gateway.budget import BudgetGate
from gateway.capabilities import fit, needs_of, require
from gateway.context import RequestContext
from gateway.errors import BudgetExceeded, UpstreamUnavailable
from gateway.learning.explore import Explorer
from gateway.ledger.base import Hold, SpendRecord, from_nanos, to_nanos
from gateway.ledger.status import BudgetExhausted
from gateway.metrics import GatewayMetrics
from gateway.plan import ChatReply, Plan
from gateway.protocol import ChatCompletionRequest
from gateway.records.capture import candidate_summary
from gateway.routing import Passthrough, Routed, RouteTable
from gateway.streaming import StreamRelay
from gateway.tracing import NoTracing, Tracing
from gateway.upstream.dispatch import Dispatched, Dispatcher
from pricing import CostEstimate, Estimator, Usage, cost_usd
from routers.base import (
    Candidate,
    Decision,
    ModelBackedRouter,
    Orchestrator,
    Policy,
    RouteRequest,
    StageResult,
)

log = logging.getLogger("costroute.serving")

ORCHESTRATION_EXCLUDED = frozenset({
    "model", "messages", "stream", "stream_options", "n", "tools", "tool_choice",
    "functions", "function_call", "stop", "logprobs", "top_logprobs", "response_format",
    "parallel_tool_calls", "max_tokens", "max_completion_tokens",
})


class ChatService:
    def __init__(
        self,
        routes: RouteTable,
        estimator: Estimator,
        dispatcher: Dispatcher,
        budget: BudgetGate,
        metrics: GatewayMetrics,
    ):
        self.routes = routes
        self.estimator = estimator
        self.dispatcher = dispatcher
        self.budget = budget
        self.metrics = metrics
        # gateway.learning.explore.Explorer: may revise a routed decision (learning tenants).
        self.explorer: Explorer | None = None
        # A test's stand-in dispatcher may carry no tracing: then there is none.
        self.tracing: Tracing = getattr(dispatcher, "tracing", None) or NoTracing()

    # -- planning ---------------------------------------------------------------------------

    def _max_tokens(self, request: ChatCompletionRequest) -> int | None:
        return request.max_completion_tokens or request.max_tokens

    def _estimates(self, models: Sequence[str], messages: Sequence[Mapping[str, Any]],
                   max_tokens: int | None, n: int, route: str) -> dict[str, CostEstimate]:
        """Pre-flight estimates on each model; the prompt's language is identified once."""
        estimates = self.estimator.estimate_all(models, messages, max_tokens, route=route)
        if n <= 1:
            return estimates
        # n choices bill the prompt once and each completion separately.
        return {model: _times_n(e, n) for model, e in estimates.items()}

    def candidates(self, target: Routed, messages: Sequence[Mapping[str, Any]],
                   max_tokens: int | None, n: int) -> list[Candidate]:
        pool = [m for m in target.pool if not self.dispatcher.cooldowns.cooling(m)]
        if not pool:
            raise UpstreamUnavailable(
                f"Every model behind `{target.alias}` is cooling down after failures.")
        estimates = self._estimates(pool, messages, max_tokens, n, target.alias)
        return [Candidate(m, self.routes.tier(m), estimates[m]) for m in pool]  # type: ignore[arg-type]

    async def plan(self, ctx: RequestContext, request: ChatCompletionRequest,
                   messages: list[dict[str, Any]],
                   target: Passthrough | Routed | None = None) -> Plan:
        target = target or self.target(ctx, request, messages)
        max_tokens = self._max_tokens(request)
        n = request.n or 1
        if isinstance(target, Passthrough):
            by_model = self._estimates(target.chain, messages, max_tokens, n, "passthrough")
            fitted = fit(needs_of(request), by_model, self.estimator.catalog)
            require(fitted, target.model, first=target.model)
            chain = [m for m in target.chain  # the model asked for, and fallbacks that can serve
                     if m == target.model or m in fitted.kept]
            by_model = {m: by_model[m] for m in chain}
            first = by_model[target.model]
            await self.budget.admit(ctx.tenant, _tokens(first))
            # Hold the worst case of the model called first; a fallback tops the hold up to
            # its own worst case before it is tried (ChatService.fallback_guard).
            return Plan("passthrough", chain, first.max_cost_usd,
                        first, f"passthrough {target.model}", chain_estimates=by_model)
        if isinstance(target.router, Orchestrator):
            raise TypeError("orchestrated routes are run by ChatService.orchestrate")
        candidates = self.candidates(target, messages, max_tokens, n)
        fitted = fit(needs_of(request), {c.model: c.estimate for c in candidates},
                     self.estimator.catalog)
        require(fitted, target.alias)
        candidates = [c for c in candidates if c.model in fitted.kept]
        policy = await self._admit_routed(ctx, candidates)
        route_request = RouteRequest(messages, max_tokens, request.temperature,
                                     language=candidates[0].estimate.language,
                                     tenant=ctx.tenant.name)
        decision: Decision
        if isinstance(target.router, ModelBackedRouter):
            decision = await asyncio.to_thread(target.router.route, route_request, candidates,
                                               policy)
        else:
            decision = target.router.route(route_request, candidates, policy)
        # Taken before exploration may swap the decision: the prompt's vector stays valid.
        ctx.prompt_vector = decision.prompt_vector
        if self.explorer is not None:
            decision = await self.explorer.revise(ctx, target.router, route_request,
                                                  candidates, policy, decision,
                                                  route=target.alias)
        self.tracing.decision(target.alias, decision, decision.reason,
                              decision.predicted_cost_usd)
        chosen = next(c for c in candidates if c.model == decision.model)
        ctx.candidates = candidate_summary(candidates, decision)
        # Cheaper candidates, in case the chosen model no longer fits the remaining budget.
        cheaper = sorted((c for c in candidates
                          if c.estimate.max_cost_usd < chosen.estimate.max_cost_usd),
                         key=lambda c: -c.estimate.max_cost_usd)
        return Plan(target.alias, [chosen.model], chosen.estimate.max_cost_usd,
                    chosen.estimate, decision.reason + fitted.note(),
                    tuple((c.model, c.estimate) for c in cheaper), decision=decision)

    async def _admit_routed(self, ctx: RequestContext, candidates: Sequence[Candidate]) -> Policy:
        """Rate limits, the hard stop, and the tenant's policy paced by its budget."""
        cheapest = min(candidates, key=lambda c: c.estimate.max_cost_usd)
        await self.budget.admit(ctx.tenant, _tokens(cheapest.estimate))
        return await self.budget.policy(ctx.tenant, cheapest.estimate.max_cost_usd)

    # -- budget -----------------------------------------------------------------------------

    async def reserve(self, ctx: RequestContext, plan: Plan, key: str) -> tuple[Plan, Hold]:
        """Holds the plan's worst-case cost; downgrades to a cheaper candidate if it won't fit."""
        options = [plan] + [
            Plan(plan.route, [model], estimate.max_cost_usd, estimate,
                 f"{plan.reason}; budget: downgraded to {model}")
            for model, estimate in plan.cheaper
        ]
        failure: BaseException | None = None
        for option in options:
            try:
                return option, await self._reserve_one(ctx, option, key)
            except (BudgetExceeded, BudgetExhausted) as exc:
                failure = failure or exc
        assert failure is not None
        raise failure

    def fallback_guard(self, ctx: RequestContext, plan: Plan,
                       held: list[Hold]) -> Callable[[str], Awaitable[None]]:
        """Before each chain model is tried: raise the hold (`held[0]`) to its worst case.

        Refused with `budget_exceeded` naming the model and amount when that does not fit the
        tenant's budgets or its per-request limit, so a fallback can never overspend.
        """
        async def before(model: str) -> None:
            estimate = plan.chain_estimates.get(model)
            if estimate is None or estimate.max_cost_usd <= held[0].amount_usd:
                return
            need = estimate.max_cost_usd
            cap = ctx.tenant.max_cost_per_request_usd
            if cap is not None and need > cap:
                raise BudgetExceeded(
                    f"Falling back to `{model}` could cost up to ${need:.6f}, above your"
                    f" per-request limit of ${cap:.6f}; the fallback was not tried.",
                    code="request_cost_limit")
            try:
                held[0] = await self.budget.top_up(ctx.tenant, held[0], need)
            except BudgetExhausted as exc:
                raise BudgetExceeded(
                    f"Falling back to `{model}` needs up to ${need:.6f} held"
                    f" (${need - exc.needed_usd:.6f} already held): {exc.message}"
                    " The fallback was not tried.") from None
        return before

    async def _reserve_one(self, ctx: RequestContext, plan: Plan, key: str) -> Hold:
        cap = ctx.tenant.max_cost_per_request_usd
        if cap is not None and plan.reserve_usd > cap:
            raise BudgetExceeded(
                f"This request could cost up to ${plan.reserve_usd:.6f}, above your per-request"
                f" limit of ${cap:.6f}. Lower max_tokens or choose a cheaper model.",
                code="request_cost_limit")
        return await self.budget.reserve(ctx.tenant, key, plan.reserve_usd)

    async def settle(self, ctx: RequestContext, hold: Hold, model: str, route: str,
                     usage: Usage, cost: float, estimate: CostEstimate,
                     stage: int | None = None) -> None:
        # The client's model and the route's reason ride along, for the console's savings
        # and routing pages (gateway/console/).
        extra: dict[str, Any] = {"estimated": usage.estimated,
                                 "requested_model": ctx.requested_model,
                                 "reason": ctx.log.get("reason", "")}
        if stage is not None:
            extra["stage"] = stage
        # What was held, and the client's own id: a client whose connection was cut never
        # saw our x-request-id, so it reconciles its spend by its own id (issue 17).
        extra["held_usd"] = from_nanos(to_nanos(hold.amount_usd))  # as the ledger held it
        if ctx.client_request_id:
            extra["client_request_id"] = ctx.client_request_id
        record = SpendRecord(
            tenant=ctx.tenant.name, request_id=hold.request_id, model=model, route=route,
            cost_usd=cost, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, tier=self.routes.tier(model),
            language=estimate.language, extra=extra,
        )
        await self.budget.settle(hold, cost, record)
        self._observe(model, route, usage, cost, estimate)

    def _observe(self, model: str, route: str, usage: Usage, cost: float,
                 estimate: CostEstimate) -> None:
        m = self.metrics
        m.tokens.labels(model, route, "prompt").inc(usage.prompt_tokens)
        m.tokens.labels(model, route, "completion").inc(usage.completion_tokens)
        if usage.cached_prompt_tokens:
            m.tokens.labels(model, route, "cached_prompt").inc(usage.cached_prompt_tokens)
        m.cost.labels(model, route, self.routes.tier(model)).inc(cost)
        if model == estimate.model:  # a fallback's cost says nothing about this estimate
            m.estimate_error.labels(model).observe(self.estimator.settle(estimate, usage))

    # -- calls ------------------------------------------------------------------------------

    def upstream_body(self, body: Mapping[str, Any], stream: bool) -> dict[str, Any]:
        out = dict(body)
        if stream:
            options = dict(out.get("stream_options") or {})
            options["include_usage"] = True  # always: we settle on the actual usage
            out["stream_options"] = options
        else:
            out.pop("stream_options", None)
        return out

    def _record_attempts(self, dispatched: Dispatched) -> None:
        for attempt in dispatched.attempts:
            self.metrics.fallbacks.labels(attempt.model).inc()

    def target(self, ctx: RequestContext, request: ChatCompletionRequest,
               messages: Sequence[Mapping[str, Any]]) -> Passthrough | Routed:
        """Where `request.model` points for this tenant (long prompts may change `auto`)."""
        def prompt_tokens() -> int:
            first = self.routes.model_names[0]
            return self.estimator.prompt_tokens(self.estimator.catalog[first], messages)

        return self.routes.resolve(request.model, ctx.tenant, prompt_tokens)

    async def orchestrate(self, ctx: RequestContext, target: Routed,
                          request: ChatCompletionRequest, body: dict[str, Any],
                          messages: list[dict[str, Any]]) -> ChatReply:
        """Runs a multi-call route; each stage is reserved and settled on its own."""
        assert isinstance(target.router, Orchestrator)
        ctx.route = target.alias
        max_tokens = self._max_tokens(request)
        candidates = self.candidates(target, messages, max_tokens, 1)
        policy = await self._admit_routed(ctx, candidates)
        ctx.candidates = candidate_summary(candidates)
        route_request = RouteRequest(messages, max_tokens, request.temperature,
                                     tenant=ctx.tenant.name)
        ctx.log["reason"] = f"{target.router.name} orchestration"
        # No single model is decided and no cost predicted: the protocol's stages are spans.
        self.tracing.decision(target.alias, None, ctx.log["reason"], None)
        # Client parameters that would change the protocol's own calls stay out of them.
        params = {k: v for k, v in body.items() if k not in ORCHESTRATION_EXCLUDED}
        stage_counter = iter(range(1, 1_000_000))

        async def call(model: str, stage_messages: Sequence[Mapping[str, Any]],
                       extra: Mapping[str, Any]) -> StageResult:
            if model not in target.pool:
                raise UpstreamUnavailable(f"`{model}` is not in the pool of `{target.alias}`.")
            return await self.call_stage(ctx, target.alias, next(stage_counter), model,
                                         stage_messages, {**params, **extra})

        outcome = await target.router.run(route_request, candidates, policy, call)
        response = dict(outcome.final.response)
        usage = Usage(
            prompt_tokens=sum(s.usage.prompt_tokens for s in outcome.stages),
            completion_tokens=sum(s.usage.completion_tokens for s in outcome.stages),
            estimated=any(s.usage.estimated for s in outcome.stages),
        )
        response["usage"] = usage.to_openai()
        summary = "; ".join(
            f"{s.model}[{s.tier}] ${s.cost_usd:.6f}" for s in outcome.stages)
        trace = "; ".join(str(t.get("summary", "")) for t in outcome.trace if t.get("summary"))
        ctx.log.update(model=outcome.final.model, cost_usd=outcome.cost_usd,
                       stages=len(outcome.stages), prompt_tokens=usage.prompt_tokens,
                       completion_tokens=usage.completion_tokens)
        return ChatReply(response, outcome.final.model, outcome.cost_usd, usage.estimated,
                         f"{target.alias}: {trace or summary}", stages=list(outcome.stages),
                         trace=list(outcome.trace))

    async def complete(self, ctx: RequestContext, request: ChatCompletionRequest,
                       body: dict[str, Any], messages: list[dict[str, Any]],
                       target: Passthrough | Routed | None = None) -> ChatReply:
        plan = await self.plan(ctx, request, messages, target)
        ctx.route, ctx.language = plan.route, plan.estimate.language
        plan, hold = await self.reserve(ctx, plan, ctx.request_id)
        ctx.log["reason"] = plan.reason
        held = [hold]
        started = time.perf_counter()
        try:
            response, dispatched = await self.dispatcher.complete(
                plan.chain, self.upstream_body(body, stream=False),
                self.fallback_guard(ctx, plan, held))
        except BaseException:
            await self.budget.release(held[0])
            raise
        finally:
            ctx.upstream_s += time.perf_counter() - started
        hold = held[0]
        self._record_attempts(dispatched)
        model = dispatched.model
        self.metrics.upstream_latency.labels(model).observe(time.perf_counter() - started)
        usage = usage_of(self.estimator, model, messages, response.get("usage"),
                         response_text(response))
        cost = price_usage(self.estimator, model, usage)
        await self.settle(ctx, hold, model, plan.route, usage, cost, plan.estimate)
        if "usage" not in response or not response.get("usage"):
            response["usage"] = usage.to_openai()
        ctx.log.update(model=model, cost_usd=cost, prompt_tokens=usage.prompt_tokens,
                       completion_tokens=usage.completion_tokens, reason=plan.reason)
        return ChatReply(response, model, cost, usage.estimated, f"{plan.route}: {plan.reason}")

    async def stream(self, ctx: RequestContext, request: ChatCompletionRequest,
                     body: dict[str, Any], messages: list[dict[str, Any]],
                     target: Passthrough | Routed | None = None,
                     ) -> tuple[AsyncIterator[bytes], dict[str, str]]:
        plan = await self.plan(ctx, request, messages, target)
        ctx.route, ctx.language = plan.route, plan.estimate.language
        plan, hold = await self.reserve(ctx, plan, ctx.request_id)
        ctx.log["reason"] = plan.reason
        held = [hold]
        started = time.perf_counter()
        try:
            upstream, dispatched = await self.dispatcher.open_stream(
                plan.chain, self.upstream_body(body, stream=True),
                self.fallback_guard(ctx, plan, held))
        except BaseException:
            await self.budget.release(held[0])
            raise
        hold = held[0]
        self._record_attempts(dispatched)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        relay = StreamRelay(self, ctx, plan, hold, dispatched.model, messages, include_usage,
                            started)
        headers = {
            "x-costroute-model": dispatched.model,
            "x-costroute-route": f"{plan.route}: {plan.reason}",
            # The actual cost is known only at the end: it is sent in the usage chunk.
            "x-costroute-cost-usd": f"{plan.estimate.expected_cost_usd:.8f}",
            "x-costroute-cost-status": "preflight-estimate",
        }
        return relay.events(upstream), headers

    async def call_stage(self, ctx: RequestContext, route: str, stage: int, model: str,
                         messages: Sequence[Mapping[str, Any]],
                         params: Mapping[str, Any]) -> StageResult:
        """One reserved, settled, non-streaming call for a multi-stage route."""
        max_tokens = params.get("max_completion_tokens") or params.get("max_tokens")
        estimate = self._estimates([model], messages, max_tokens, 1, route)[model]
        plan = Plan(route, [model], estimate.max_cost_usd, estimate, f"stage {stage}")
        hold = await self._reserve_one(ctx, plan, f"{ctx.request_id}:{stage}")
        body = {**params, "messages": list(messages), "model": model}
        with self.tracing.stage(route, stage, model) as span:
            started = time.perf_counter()
            try:
                response, dispatched = await self.dispatcher.complete([model], body)
            except BaseException:  # as in complete(): a cancelled stage frees its hold too
                await self.budget.release(hold)
                raise
            finally:
                ctx.upstream_s += time.perf_counter() - started
            self._record_attempts(dispatched)
            self.metrics.upstream_latency.labels(model).observe(time.perf_counter() - started)
            usage = usage_of(self.estimator, model, messages, response.get("usage"),
                             response_text(response))
            cost = price_usage(self.estimator, model, usage)
            await self.settle(ctx, hold, model, route, usage, cost, estimate, stage=stage)
            span.set({"gen_ai.response.model": model, "costroute.cost_usd": cost,
                      "gen_ai.usage.input_tokens": usage.prompt_tokens,
                      "gen_ai.usage.output_tokens": usage.completion_tokens})
        return StageResult(model, response, usage, cost, self.routes.tier(model))  # type: ignore[arg-type]


def _times_n(estimate: CostEstimate, n: int) -> CostEstimate:
    price = estimate.price
    prompt_cost = 0.0
    if price is not None:
        prompt_cost = cost_usd(price, Usage(estimate.prompt_tokens, 0))
    return replace(
        estimate,
        expected_output_tokens=estimate.expected_output_tokens * n,
        max_output_tokens=estimate.max_output_tokens * n,
        expected_cost_usd=prompt_cost + (estimate.expected_cost_usd - prompt_cost) * n,
        max_cost_usd=prompt_cost + (estimate.max_cost_usd - prompt_cost) * n,
    )


def _tokens(estimate: CostEstimate) -> int:
    """Tokens a request is charged against a tokens-per-minute limit at admission."""
    return estimate.prompt_tokens + estimate.expected_output_tokens
