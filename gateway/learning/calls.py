"""One learning call (a shadow answer or a judge's grade): reserve, call, settle, record.

Calls go straight to the model's upstream, not through the traffic's dispatcher, so a
failing shadow model never puts a model into the traffic's cooldown. Each call reserves its
worst case in the tenant's learning budget first and settles the actual cost there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.accounting import price_usage, response_text, usage_of
from gateway.learning.budget import LearningBudget, LearningBudgetUnavailable, learning_record
from gateway.learning.metrics import LearningMetrics
from gateway.records.base import RecordSink, RequestRecord
from gateway.tenants.config import TenantConfig
from gateway.upstream.base import Upstream
from pricing import Estimator

# A shadow call without the client's max_tokens is capped here, so one reservation cannot
# take a large share of a small learning budget.
DEFAULT_SHADOW_MAX_TOKENS = 1024
CALL_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class CallResult:
    model: str
    text: str
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int


class LearningCaller:
    def __init__(self, upstreams: Mapping[str, Upstream], estimator: Estimator,
                 budget: LearningBudget, metrics: LearningMetrics,
                 records: Callable[[], RecordSink | None],
                 redact: Callable[[TenantConfig, str], str]):
        self._upstreams = upstreams
        self._estimator = estimator
        self._budget = budget
        self._metrics = metrics
        self._records = records
        self._redact = redact

    def can_call(self, model: str) -> bool:
        return model in self._upstreams and model in self._estimator.catalog

    async def call(self, tenant: TenantConfig, *, kind: str, call_id: str, parent_id: str,
                   route: str, model: str, messages: Sequence[Mapping[str, Any]],
                   params: Mapping[str, Any]) -> CallResult | None:
        """The answer, or None when the budget refused or the call failed (both counted)."""
        if not self.can_call(model):
            # tenants.yaml is checked against the served models at load (learning/checks.py);
            # tenants built without that check get a counted outcome here, not a traceback.
            self._metrics.call(kind, "unknown_model")
            return None
        max_tokens = params.get("max_tokens") or DEFAULT_SHADOW_MAX_TOKENS
        estimate = self._estimator.estimate(model, messages, max_tokens, route=route)
        try:
            hold = await self._budget.reserve(tenant, call_id, estimate.max_cost_usd)
        except LearningBudgetUnavailable as exc:
            self._metrics.call(kind, exc.reason)
            return None
        body = {**params, "model": model, "messages": list(messages), "max_tokens": max_tokens}
        body.pop("stream", None)
        started = time.time()
        try:
            response = await asyncio.wait_for(self._upstreams[model].complete(body),
                                              CALL_TIMEOUT_S)
        except BaseException as exc:
            await self._budget.release(hold)
            if isinstance(exc, asyncio.CancelledError):
                raise
            self._metrics.call(kind, "failed")
            return None
        text = response_text(response)
        usage = usage_of(self._estimator, model, messages, response.get("usage"), text)
        cost = price_usage(self._estimator, model, usage)
        await self._budget.settle(hold, learning_record(
            tenant.name, call_id, model, route, cost, usage.prompt_tokens,
            usage.completion_tokens, parent_id=parent_id, kind=kind))
        self._metrics.call(kind, "ok", cost)
        sink = self._records()
        if sink is not None:
            sink.add_request(RequestRecord(
                request_id=call_id, tenant=tenant.name, created_at=started, route=route,
                model=model, purpose="learning", parent_id=parent_id, reason=kind,
                answer=self._redact(tenant, text), cost_usd=cost,
                prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                extra={"kind": kind}))
        return CallResult(model, text, cost, usage.prompt_tokens, usage.completion_tokens)
