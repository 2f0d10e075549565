"""What the request path calls once a client has its answer, and the shadow job itself.

`after_answer` is cheap and never raises: it hands the traffic record to the records sink
(when the tenant captures), samples `shadow_rate`, and queues a shadow job. The job asks the
other candidates the same prompt under the learning budget, grades every answer (the served
one included), writes the labels, and tells subscribers (the online k-NN update) about the
labelled outcome.

Multi-call routes (cascade, minions) are not shadow-labelled: their answer is the protocol's
work (several models' calls, a synthesis of them), not one model's answer to the prompt, so a
grade of it would label the final stage's model with every stage's cost. Their requests are
captured and the client's feedback rates them; `costroute learn status` names those routes.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.content_log import ContentRedactor, message_text
from gateway.context import RequestContext
from gateway.learning.calls import CallResult, LearningCaller
from gateway.learning.judge import Judge
from gateway.learning.metrics import LearningMetrics
from gateway.learning.pick import ShadowPicker
from gateway.learning.shadow import ShadowJob, ShadowRunner
from gateway.records.base import RecordSink
from gateway.tenants.config import TenantConfig

log = logging.getLogger("costroute.learning")


@dataclass(frozen=True)
class LabelledOutcome:
    """Every graded answer of one prompt: what an online update adds to a reference set."""

    route: str
    request_id: str
    prompt: str
    scores: Mapping[str, float]
    costs: Mapping[str, float]


Subscriber = Callable[[LabelledOutcome], Awaitable[None]]


class LearningLoop:
    def __init__(self, caller: LearningCaller, metrics: LearningMetrics,
                 records: Callable[[], RecordSink | None], pools: Callable[[str], Sequence[str]],
                 *, secrets: Sequence[str] = (), concurrency: int = 2, queue_size: int = 64,
                 seed: int | None = None):
        self.caller = caller
        self.metrics = metrics
        self.judge = Judge(caller, metrics)
        self.runner = ShadowRunner(self.run_job, metrics, concurrency=concurrency,
                                   queue_size=queue_size)
        self._records = records
        self._pools = pools
        self._secrets = tuple(secrets)
        self._rng = random.Random(seed)
        self.picker = ShadowPicker(seed)
        self._redactors: dict[tuple[Any, ...], ContentRedactor] = {}
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    @staticmethod
    def wants(tenant: TenantConfig) -> bool:
        settings = tenant.learning
        return settings.capture or settings.shadow_rate > 0

    def redact(self, tenant: TenantConfig, text: str) -> str:
        settings = tenant.content_logging
        key = (tuple(settings.redact), tuple(settings.patterns))
        redactor = self._redactors.get(key)
        if redactor is None:
            redactor = ContentRedactor(settings.redact, settings.patterns, self._secrets)
            self._redactors[key] = redactor
        return redactor(text)

    def after_answer(self, ctx: RequestContext, messages: Sequence[Mapping[str, Any]],
                     body: Mapping[str, Any], answer: str, reference: str | None = None) -> None:
        """Called after the client has its whole answer; never raises, never waits."""
        try:
            self._after_answer(ctx, messages, body, answer, reference)
        except Exception:  # learning must never fail a request that already succeeded
            self.metrics.job("failed")
            log.exception("learning hook failed for %s", ctx.request_id)

    def _after_answer(self, ctx: RequestContext, messages: Sequence[Mapping[str, Any]],
                      body: Mapping[str, Any], answer: str, reference: str | None) -> None:
        tenant = ctx.tenant
        settings = tenant.learning
        question = last_user_text(messages)
        prompt = self.redact(tenant, question)
        model = str(ctx.log.get("model", ""))
        cost = float(ctx.log.get("cost_usd", 0.0) or 0.0)
        # The client's own record is written by gateway/records/capture.py (with `explored`).
        if settings.shadow_rate <= 0 or self._rng.random() >= settings.shadow_rate:
            return
        if settings.budget is None:  # learning calls are only ever paid from this budget
            self.metrics.job("no_budget")
            return
        if ctx.log.get("stages"):
            # A multi-call route (cascade, minions): its answer is the protocol's, not one
            # model's answer to the prompt, and its cost is every stage's. Graded, it would
            # label the final stage's model with a cost it did not have. Not shadow-labelled:
            # its record is captured and the client's feedback rates it.
            self.metrics.job("multi_call")
            return
        judge = settings.judge.model
        if reference is None and judge is not None and not self.caller.can_call(judge):
            # Nothing could grade the answers: ask no shadow model (tenants.yaml's check
            # refuses such a judge at load; this guards tenants built without that check).
            self.metrics.job("no_judge")
            return
        pool = settings.shadow_models or list(self._pools(ctx.route))
        others = self.picker.pick(
            tenant.name, ctx.route, model,
            [m for m in pool if m != model and tenant.may_use_model(m)
             and self.caller.can_call(m)],
            settings.shadow_models_per_prompt)
        params = {k: body[k] for k in ("max_tokens", "max_completion_tokens", "temperature")
                  if body.get(k) is not None}
        if "max_completion_tokens" in params:
            params["max_tokens"] = params.pop("max_completion_tokens")
        self.runner.submit(ShadowJob(
            tenant=tenant, request_id=ctx.request_id, route=ctx.route, messages=list(messages),
            params=params, served_model=model, served_answer=answer, served_cost_usd=cost,
            models=others, question=question, prompt=prompt, reference=reference))

    async def run_job(self, job: ShadowJob) -> None:
        """Ask the other candidates, grade every answer, write labels, notify subscribers."""
        asked = await asyncio.gather(*(
            self.caller.call(job.tenant, kind="shadow", call_id=f"{job.request_id}:shadow:{i}",
                             parent_id=job.request_id, route=job.route, model=model,
                             messages=job.messages, params=job.params)
            for i, model in enumerate(job.models)))
        answers: list[CallResult] = [
            CallResult(job.served_model, job.served_answer, job.served_cost_usd, 0, 0),
            *(r for r in asked if r is not None)]
        labels = await asyncio.gather(*(
            self.judge.grade(job, result.model, result.text, n)
            for n, result in enumerate(answers)))
        sink = self._records()
        scores: dict[str, float] = {}
        costs: dict[str, float] = {}
        for result, label in zip(answers, labels, strict=True):
            if label is None:
                continue
            scores[result.model] = label.score
            costs[result.model] = result.cost_usd
            if sink is not None:
                sink.add_label(label)
        if not scores:
            self.metrics.job("unlabelled")
            return
        outcome = LabelledOutcome(job.route, job.request_id, job.prompt, scores, costs)
        for subscriber in self._subscribers:
            await subscriber(outcome)

    async def drain(self) -> None:
        await self.runner.drain()

    async def aclose(self) -> None:
        await self.runner.aclose()


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return message_text(messages[-1]) if messages else ""


async def learn_after(loop: LearningLoop | None, ctx: RequestContext,
                      messages: Sequence[Mapping[str, Any]], body: Mapping[str, Any],
                      answer: str) -> None:
    """The request path's one call into learning, once the client has its whole answer.

    A coroutine, so that starlette runs it on the event loop (a plain function would go to
    its thread pool, where the shadow runner cannot start tasks)."""
    if loop is not None:
        loop.after_answer(ctx, messages, body, answer, ctx.reference_answer)
