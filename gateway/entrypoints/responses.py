"""`POST /v1/responses`: OpenAI's Responses API, served by translation onto chat upstreams.

The request becomes a chat-completions body (responses_translate), runs through the one
chat pipeline (pipeline.py: route, reserve, call, settle) and its answer is told back as
a `response` object or as the Responses stream's semantic events (responses_stream).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from gateway.entrypoints.common import (
    gateway_of,
    request_context,
)
from gateway.entrypoints.responses_stream import ResponsesEvents
from gateway.entrypoints.responses_translate import from_chat, to_chat_body
from gateway.entrypoints.responses_wire import ResponsesRequest
from gateway.entrypoints.translated import call_chat
from gateway.errors import NotFound


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
        called = await call_chat(request, ResponsesRequest, "responses", to_chat_body)
        if called.reply is not None:
            return called.answer(from_chat(called.parsed, called.reply.body,
                                           called.reply.model))
        assert called.opened is not None
        return called.stream(ResponsesEvents(called.parsed, called.opened.model)
                             .events(called.opened.chunks))
