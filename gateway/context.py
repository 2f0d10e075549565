"""Per-request facts shared by the pipeline's steps."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gateway.tenants.config import TenantConfig


@dataclass
class RequestContext:
    request_id: str
    tenant: TenantConfig
    client_request_id: str | None = None  # the client's own id, echoed, never a ledger key
    started: float = field(default_factory=time.perf_counter)
    upstream_s: float = 0.0
    route: str = "passthrough"
    log: dict[str, Any] = field(default_factory=dict)
    reference_answer: str | None = None  # for exact-match grading (gateway/learning/graders)
    requested_model: str = ""  # what the client named: a model or a route alias
    span: Any = None  # the request's trace span, when tracing is on (gateway/tracing.py)
    # What the router weighed and the prompt's language, for the records store
    # (gateway/records/capture.py); kept out of `log`, which is written to the access log.
    candidates: list[dict[str, Any]] = field(default_factory=list)
    language: str | None = None
    # The prompt's vector if the router embedded it (routers.base.PromptVector): capture
    # stores it with the record, so a retrain reuses it.
    prompt_vector: Any = None
