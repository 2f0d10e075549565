"""`POST /v1/costroute/feedback`: a tenant rates one of its own answers.

    {"request_id": "<x-request-id of the answer>", "score": 0..1 | true | false,
     "metric"?: "default", "comment"?: "...", "model"?: "<the model that answered>"}

- Authenticated with the tenant's API key; a request of another tenant is 404, exactly as
  an unknown id, so nothing about other tenants leaks. So is the id of a learning call (a
  shadow answer or a judge's grade, `req_…:shadow:0`): a client rates only what it was
  answered, the `x-request-id` it got.
- The label's model is the model that answered the request.
- Idempotent per (request_id, metric): a later rating becomes the current one and the
  earlier ones stay in the label history; the same rating sent again writes nothing new.
- Written to the store before the answer (not through the outbox), so a 200 means stored.
  If the store is down: 503 `records_store_unavailable`, and the client may retry.
- A rating right after the answer works: a request still waiting in the outbox is found there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from gateway.errors import InvalidRequest, NotFound
from gateway.records.base import Label, RecordStore, RequestRecord
from gateway.records.outbox import RecordOutbox
from gateway.records.wire import FeedbackRequest, FeedbackResponse

if TYPE_CHECKING:
    from gateway.assembly import Gateway

GRADER = "client"


def feedback_router() -> APIRouter:
    router = APIRouter()
    # The body is read raw (for our own error shape): describe it for clients and fuzzers.
    schema = FeedbackRequest.model_json_schema()
    body = {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    @router.post("/v1/costroute/feedback", openapi_extra=body)
    async def feedback(request: Request) -> Response:
        gateway: Gateway = request.app.state.gateway
        tenant = gateway.authenticate(request.headers.get("authorization"),
                                      request.headers.get("api-key"))
        rating = _parse(await request.body())
        store = gateway.record_store
        if store is None:
            raise NotFound("This gateway keeps no records (`records: {kind: none}`).",
                           code="records_disabled")
        record = await _find(gateway, store, tenant.name, rating.request_id)
        if record is None or record.purpose != "traffic":
            # The learning loop's own calls (`req_…:shadow:0`, `…:judge:1`) are records too,
            # but no client was answered by them: the same 404 as an unknown id.
            raise NotFound(f"No request `{rating.request_id}` of yours is recorded. Rate the "
                           "`x-request-id` of an answer, with learning.capture on.",
                           param="request_id", code="request_not_found")
        if rating.model is not None and rating.model != record.model:
            raise InvalidRequest(f"Request `{rating.request_id}` was answered by "
                                 f"`{record.model}`, not `{rating.model}`.", param="model")
        latest = await _current_feedback(store, tenant.name, record, rating.metric)
        label = Label(request_id=record.request_id, tenant=tenant.name, model=record.model,
                      score=rating.value, source="feedback", metric=rating.metric,
                      grader=GRADER, comment=rating.comment,
                      # After the current one, even within one clock tick: it is the key.
                      created_at=max(time.time(), latest.created_at + 1e-6 if latest else 0.0))
        if latest is None or (latest.score, latest.comment) != (label.score, label.comment):
            await store.write_labels([label])
        reply = FeedbackResponse(request_id=record.request_id, metric=label.metric,
                                 score=label.score, model=record.model)
        return Response(orjson.dumps(reply.model_dump()), media_type="application/json")

    return router


def _parse(raw: bytes) -> FeedbackRequest:
    if not raw:
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc.msg}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return FeedbackRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        if param == "score" or (param or "").startswith("score."):
            # Pydantic names the first member of the union the value failed (a boolean);
            # the client needs the rule and what it sent instead.
            message = ("`score` is required: a number between 0 and 1, or true/false."
                       if "score" not in body else
                       "`score` must be a number between 0 and 1, or true/false; got "
                       f"{orjson.dumps(body['score']).decode()[:40]}.")
            param = "score"
        else:
            message = f"Invalid feedback at `{param}`: {message}."
        raise InvalidRequest(message, param=param) from None


async def _find(gateway: Gateway, store: RecordStore, tenant: str,
                request_id: str) -> RequestRecord | None:
    # The answer's record may still be in the outbox: rating right away must work.
    if isinstance(gateway.records, RecordOutbox):
        pending = gateway.records.pending_request(tenant, request_id)
        if pending is not None:
            return pending
    return await store.get_request(tenant, request_id)


async def _current_feedback(store: RecordStore, tenant: str, record: RequestRecord,
                            metric: str) -> Label | None:
    """The client's current rating of (request, metric), if any: a retry repeats it."""
    history = [x for x in await store.label_history(tenant, record.request_id)
               if x.source == "feedback" and x.metric == metric and x.model == record.model]
    return max(history, key=lambda x: x.created_at) if history else None
