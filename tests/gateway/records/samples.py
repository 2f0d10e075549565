"""Records and labels for the store tests."""

from __future__ import annotations

from typing import Any

from gateway.records.base import Label, RequestRecord


def request(request_id: str, tenant: str = "acme", *, at: float = 1000.0, model: str = "m-small",
            route: str = "auto", prompt: str | None = "What is 2+2?", answer: str | None = "4",
            reason: str = "table max_utility(0.1)", **fields: Any) -> RequestRecord:
    return RequestRecord(request_id=request_id, tenant=tenant, created_at=at, route=route,
                         model=model, prompt=prompt, answer=answer, cost_usd=0.001,
                         prompt_tokens=7, completion_tokens=1, language="en",
                         reason=reason,
                         candidates=({"model": "m-small", "expected_cost_usd": 0.001},
                                     {"model": "m-large", "expected_cost_usd": 0.01}),
                         **fields)


def label(request_id: str, model: str = "m-small", score: float = 1.0, *, tenant: str = "acme",
          source: str = "feedback", at: float = 2000.0, metric: str = "default",
          comment: str | None = None) -> Label:
    return Label(request_id=request_id, tenant=tenant, model=model, score=score,
                 source=source, created_at=at, metric=metric,  # type: ignore[arg-type]
                 grader="client" if source == "feedback" else "judge:gpt-4o:v1",
                 comment=comment)
