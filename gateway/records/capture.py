"""Capture: one RequestRecord per answered request of a tenant with `learning.capture: true`.

The one function the answer paths call (gateway/app.py: non-streaming, streamed at
settlement, orchestrated), and that other code (shadow calls, exploration) may call too:

    capture_answer(gateway, ctx, messages, answer_text, model=..., cost_usd=...,
                   prompt_tokens=..., completion_tokens=..., reason=..., status=200)
        -> True if a record was queued on `gateway.records`

It keeps the request id the client got in `x-request-id` (so feedback can name it), the
tenant, route, model, the router's reason and candidates (`ctx.candidates`), the prompt
(the text the k-NN router embeds: last user turn first) and the answer, both redacted by
the tenant's `content_logging` rules, cost, tokens, language and status. It only queues
the record (gateway/records/outbox.py): it never blocks, never raises, never delays the
answer; redaction runs later, in the outbox's drainer. When the route embedded the prompt
(the k-NN router does), the record carries that vector to the store's text vectors, so a
retrain does not embed the prompt again (`kept_vector`). Cache hits are not captured (no model
answered them). `purpose`, `parent_id` and `explored` are there for shadow and exploration calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gateway.content_log import ContentLogger, completion_text
from gateway.records.base import Purpose, RecordSink, RequestRecord, TextVector
from gateway.records.outbox import RecordOutbox
from routers.base import Candidate, Decision, PromptVector
from routers.datasets.text import messages_embedding_text, text_hash

if TYPE_CHECKING:
    from gateway.context import RequestContext
    from gateway.plan import ChatReply

log = logging.getLogger("costroute.records")


class Gateway(Protocol):
    """What capture needs of the assembled gateway (gateway.assembly.Gateway is one); a
    protocol so that this module, which the chat service imports, does not import back."""

    @property
    def records(self) -> RecordSink | None: ...

    @property
    def content_log(self) -> ContentLogger: ...


def wants_capture(gateway: Gateway, ctx: RequestContext) -> bool:
    return gateway.records is not None and ctx.tenant.learning.capture


def candidate_summary(candidates: Sequence[Candidate],
                      decision: Decision | None = None) -> list[dict[str, Any]]:
    """What the router weighed, per model (its predicted quality where it said one)."""
    out: list[dict[str, Any]] = []
    for candidate in candidates:
        entry: dict[str, Any] = {"model": candidate.model,
                                 "expected_cost_usd": candidate.estimate.expected_cost_usd}
        if decision is not None and decision.model == candidate.model:
            entry["chosen"] = True
            if decision.predicted_quality is not None:
                entry["predicted_quality"] = decision.predicted_quality
        out.append(entry)
    return out


def capture_answer(gateway: Gateway, ctx: RequestContext,
                   messages: Sequence[Mapping[str, Any]], answer_text: str | None, *,
                   model: str, cost_usd: float, prompt_tokens: int = 0,
                   completion_tokens: int = 0, reason: str = "", status: int = 200,
                   candidates: Sequence[Mapping[str, Any]] | None = None,
                   purpose: Purpose = "traffic", parent_id: str | None = None,
                   request_id: str | None = None, explored: bool = False,
                   artifact_version: str | None = None,
                   extra: Mapping[str, Any] | None = None) -> bool:
    """Queues the record of one answer (see the module docstring); False if not captured.

    Redaction and the prompt text are computed later, by the outbox's drainer, when the sink
    is a RecordOutbox: here only the facts are taken (the text is not copied).
    """
    sink = gateway.records
    if sink is None or not ctx.tenant.learning.capture:
        return False
    request_id = request_id or ctx.request_id
    explored = explored or bool(ctx.log.get("explored"))  # set by gateway/learning/explore
    tenant = ctx.tenant
    created_at = time.time()
    route, language, client_id = ctx.route, ctx.language, ctx.client_request_id
    chosen = tuple(candidates if candidates is not None else ctx.candidates)
    # Only the client's own record carries the vector the route computed for its prompt.
    routed = ctx.prompt_vector if purpose == "traffic" and request_id == ctx.request_id else None

    def build() -> RequestRecord:
        redact = gateway.content_log.redactor(tenant.content_logging)
        text = messages_embedding_text(messages)
        prompt = redact(text)
        return RequestRecord(
            request_id=request_id, tenant=tenant.name, created_at=created_at, route=route,
            model=model, purpose=purpose, parent_id=parent_id, reason=reason,
            explored=explored, candidates=chosen,
            prompt=prompt, vector=kept_vector(routed, text, prompt),
            answer=None if answer_text is None else redact(answer_text),
            cost_usd=float(cost_usd), prompt_tokens=int(prompt_tokens),
            completion_tokens=int(completion_tokens), language=language, status=status,
            artifact_version=artifact_version,
            extra={"client_request_id": client_id, **(extra or {})},
        )

    if isinstance(sink, RecordOutbox):
        sink.add_deferred(request_id, tenant.name, build)
        return True
    try:
        record = build()
    except Exception:  # capture must never fail the client's answer
        log.exception("records: could not capture request %s", request_id)
        return False
    sink.add_request(record)
    return True


def kept_vector(routed: PromptVector | None, text: str, prompt: str) -> TextVector | None:
    """The stored form of the route's prompt vector, or None when it must not be kept.

    Kept only when it is the vector of the very text captured: a prompt that redaction
    changed keeps no vector, since the vector of the unredacted text would carry what the
    tenant's content-logging rules remove (and would not be the redacted text's vector).
    """
    if routed is None or routed.text != text or prompt != text:
        return None
    from gateway.records.vectors import text_vector

    return text_vector(text_hash(text), routed.encoder, routed.vector)


def capture_reply(gateway: Gateway, ctx: RequestContext,
                  messages: Sequence[Mapping[str, Any]], reply: ChatReply) -> bool:
    """The call site of a complete answer (non-streaming or orchestrated)."""
    if not wants_capture(gateway, ctx):
        return False
    usage = reply.body.get("usage") or {}
    return capture_answer(
        gateway, ctx, messages, completion_text(reply.body), model=reply.model,
        cost_usd=reply.cost_usd, prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0), reason=reply.route,
        extra={"stages": len(reply.stages)} if reply.stages else None)


def capture_stream(gateway: Gateway, ctx: RequestContext,
                   messages: Sequence[Mapping[str, Any]], answer_text: str,
                   reason: str) -> bool:
    """The call site of a streamed answer, once it settled (the facts are in `ctx.log`)."""
    facts = ctx.log
    if not wants_capture(gateway, ctx) or not facts.get("model"):
        return False  # not settled: the client left before the stream was relayed
    failed = facts.get("stream_error")
    return capture_answer(
        gateway, ctx, messages, answer_text, model=str(facts["model"]),
        cost_usd=float(facts.get("cost_usd") or 0.0),
        prompt_tokens=int(facts.get("prompt_tokens") or 0),
        completion_tokens=int(facts.get("completion_tokens") or 0), reason=reason,
        status=502 if failed else 200, extra={"stream": True})
