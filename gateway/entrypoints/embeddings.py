"""`POST /v1/embeddings`: passthrough to the catalog's embedding models, priced by input
tokens, reserved and settled through the same budget gate and ledger as chat."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from gateway.assembly import Gateway
from gateway.context import RequestContext
from gateway.entrypoints.common import (
    answered_error,
    finish,
    gateway_of,
    json_response,
    parse_body,
    read_json,
    request_context,
    safe_headers,
    traced,
)
from gateway.entrypoints.embeddings_wire import MAX_INPUTS, EmbeddingRequest
from gateway.errors import InvalidRequest
from gateway.plan import Plan
from gateway.routing import Passthrough
from gateway.upstream.dispatch import Dispatcher
from gateway.upstream.embeddings import embedding_upstreams
from pricing import CostEstimate, Usage, cost_usd

ROUTE = "embeddings"
# The upstream's count may differ from ours by a token or two (special tokens): hold a
# little more than the exact price, so the settled cost never exceeds what was held.
RESERVE_MARGIN = 1.05


@dataclass
class EmbeddingReply:
    body: dict[str, Any]
    model: str
    cost_usd: float
    estimated: bool


class EmbeddingService:
    """Resolve, count, reserve, call, settle: the chat pipeline's steps for embeddings."""

    def __init__(self, gateway: Gateway):
        self._gateway = gateway
        upstreams = embedding_upstreams(gateway.config, gateway.catalog, gateway.pool)
        self._models = frozenset(upstreams)
        self._dispatcher = Dispatcher(upstreams, gateway.config.retry,
                                      tracing=gateway.tracing, operation="embeddings")

    def _chain(self, ctx: RequestContext, model: str) -> Sequence[str]:
        target = self._gateway.routes.resolve(model, ctx.tenant)
        if not isinstance(target, Passthrough) or target.model not in self._models:
            known = ", ".join(sorted(self._models)) or "none is configured"
            raise InvalidRequest(
                f"`{model}` is not an embedding model; /v1/embeddings serves embedding models"
                f" only ({known}).", param="model", code="model_not_embedding")
        return [m for m in target.chain if m in self._models]

    def _estimate(self, model: str, items: Sequence[str | list[int]]) -> CostEstimate:
        service = self._gateway.service
        price = service.estimator.catalog[model]
        tokenizer = service.estimator.tokenizers.get(price.tokenizer)
        counts = [len(i) if isinstance(i, list) else tokenizer.count(i) for i in items]
        too_long = [i for i, n in enumerate(counts) if n > price.context_window]
        if too_long:
            raise InvalidRequest(
                f"Input {too_long[0]} has {counts[too_long[0]]} tokens; `{model}` takes at most"
                f" {price.context_window} per input.", param="input",
                code="context_length_exceeded")
        tokens = sum(counts)
        cost = cost_usd(price, Usage(tokens, 0))
        return CostEstimate(model, tokens, 0, 0, cost, cost * RESERVE_MARGIN,
                            tokenizer.estimated, route=ROUTE, price=price)

    async def embed(self, ctx: RequestContext, request: EmbeddingRequest,
                    body: dict[str, Any]) -> EmbeddingReply:
        items = request.items()
        if not items or len(items) > MAX_INPUTS or any(not i for i in items):
            raise InvalidRequest(f"`input` must hold 1 to {MAX_INPUTS} non-empty texts or "
                                 "token arrays.", param="input")
        service = self._gateway.service
        chain = self._chain(ctx, request.model)
        ctx.route = ROUTE
        estimates = {m: self._estimate(m, items) for m in chain}
        first = estimates[chain[0]]
        await service.budget.admit(ctx.tenant, first.prompt_tokens)
        # As for chat: hold the dearest model a fallback could reach.
        plan = Plan(ROUTE, chain, max(e.max_cost_usd for e in estimates.values()), first,
                    f"passthrough {chain[0]}")
        plan, hold = await service.reserve(ctx, plan, ctx.request_id)
        started = time.perf_counter()
        try:
            response, dispatched = await self._dispatcher.complete(
                plan.chain, {**body, "model": chain[0]})
        except BaseException:
            await service.budget.release(hold)
            raise
        finally:
            ctx.upstream_s += time.perf_counter() - started
        model = dispatched.model
        estimate = estimates[model]
        reported = response.get("usage") or {}
        if reported.get("prompt_tokens"):
            usage = Usage(int(reported["prompt_tokens"]), 0)
        else:  # no usage from the upstream: our own count, flagged
            usage = Usage(estimate.prompt_tokens, 0, estimated=True)
            response["usage"] = {"prompt_tokens": usage.prompt_tokens,
                                 "total_tokens": usage.prompt_tokens}
        cost = cost_usd(service.estimator.catalog[model], usage)
        await service.settle(ctx, hold, model, ROUTE, usage, cost, estimate)
        ctx.log.update(model=model, cost_usd=cost, prompt_tokens=usage.prompt_tokens)
        return EmbeddingReply(response, model, cost, usage.estimated)


def _service(request: Request, gateway: Gateway) -> EmbeddingService:
    # Built on first use, once per app: the gateway (and its http pool) exists only after
    # start-up, and this keeps app.py's wiring to one call.
    service = getattr(request.app.state, "embeddings", None)
    if service is None or service._gateway is not gateway:
        service = EmbeddingService(gateway)
        request.app.state.embeddings = service
    return service


def install(app: FastAPI) -> None:
    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        gateway = gateway_of(request)
        ctx = request_context(request, gateway)
        try:
            body = await read_json(request)
            parsed = parse_body(EmbeddingRequest, body)
            traced(gateway, ctx, "embeddings", parsed.model, False)
            with gateway.tracing.activate(ctx):
                reply = await _service(request, gateway).embed(ctx, parsed, body)
        except Exception as exc:  # noqa: BLE001 - answered_error re-raises our own bugs
            raise answered_error(gateway, ctx, exc) from None
        finish(gateway, ctx, 200, stream=False)
        return json_response(reply.body, headers=safe_headers({
            "x-request-id": ctx.request_id, "x-costroute-model": reply.model,
            "x-costroute-cost-usd": f"{reply.cost_usd:.8f}",
            "x-costroute-cost-status": "estimated" if reply.estimated else "actual",
            "x-costroute-route": f"{ROUTE}: passthrough {reply.model}"}))
