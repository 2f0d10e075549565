"""`POST /v1/responses`: OpenAI's Responses API, served by translation onto chat upstreams.

The request becomes a chat-completions body (responses_translate), runs through the one
chat pipeline (pipeline.py: route, reserve, call, settle) and its answer is told back as
a `response` object or as the Responses stream's semantic events (responses_stream).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from gateway.entrypoints import pipeline
from gateway.entrypoints.common import (
    event_stream,
    failed,
    finish,
    gateway_of,
    json_response,
    parse_body,
    read_json,
    request_context,
    safe_headers,
    traced,
)
from gateway.entrypoints.responses_stream import ResponsesEvents
from gateway.entrypoints.responses_translate import from_chat, to_chat_body
from gateway.entrypoints.responses_wire import ResponsesRequest
from gateway.errors import NotFound, as_gateway_error


def install(app: FastAPI) -> None:
    async def stored_response(request: Request, response_id: str) -> Response:
        """Retrieve, delete, input items and cancel: nothing is stored (every response says
        `store: false`), so a 404 that says so, not a bare "Not Found"."""
        request_context(request, gateway_of(request))  # 401 before anything is said
        raise NotFound(
            f"No response `{response_id}` is stored here: this gateway is stateless, so every "
            "response is `store: false` and cannot be retrieved, deleted or cancelled later. "
            "Keep what you need from the answer itself.", param="response_id")

    app.add_api_route("/v1/responses/{response_id}", stored_response, methods=["GET", "DELETE"],
                      include_in_schema=False)
    app.add_api_route("/v1/responses/{response_id}/input_items", stored_response,
                      methods=["GET"], include_in_schema=False)
    app.add_api_route("/v1/responses/{response_id}/cancel", stored_response, methods=["POST"],
                      include_in_schema=False)

    @app.post("/v1/responses")
    async def create_response(request: Request) -> Response:
        gateway = gateway_of(request)
        ctx = request_context(request, gateway)
        try:
            parsed = parse_body(ResponsesRequest, await read_json(request))
            traced(gateway, ctx, "responses", parsed.model, bool(parsed.stream))
            chat_body = to_chat_body(parsed)
            with gateway.tracing.activate(ctx):
                if parsed.stream:
                    opened = await pipeline.stream(gateway, ctx, chat_body)
                else:
                    reply = await pipeline.complete(gateway, ctx, chat_body)
        except Exception as exc:
            error = as_gateway_error(exc)
            if error is None:
                gateway.tracing.end_request(ctx, 500, type(exc).__name__)
                raise
            failed(gateway, ctx, error.status_code, error.code)
            raise error from None
        if not parsed.stream:
            finish(gateway, ctx, 200, stream=False)
            return json_response(from_chat(parsed, reply.body, reply.model),
                                 headers=safe_headers(pipeline.reply_headers(reply,
                                                                             ctx.request_id)))

        return event_stream(gateway, ctx,
                            ResponsesEvents(parsed, opened.model).events(opened.chunks),
                            opened.chunks, opened.headers)
