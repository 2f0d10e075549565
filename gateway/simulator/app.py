"""The simulator's ASGI app: OpenAI-compatible `/v1` endpoints plus `/_simulator` controls."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.simulator.anthropic_api import messages
from gateway.simulator.config import OWNED_BY, SimulatorConfig
from gateway.simulator.control import control_routes
from gateway.simulator.errors import ModelNotFound, SimulatorError, error_response, json_response
from gateway.simulator.profiles import ModelProfiles
from gateway.simulator.recordings import RecordingBook
from gateway.simulator.serving import Simulator
from gateway.simulator.transport import ConnectionResetUnavailable, remember_transport
from gateway.simulator.wire import model_card, models_list
from pricing import PriceCatalog, TokenizerRegistry

logger = logging.getLogger(__name__)


class SimulatorApp(Starlette):
    """A Starlette app that first notes the connection's transport, so faults can reset it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        remember_transport(scope, send)
        await super().__call__(scope, receive, send)


def create_simulator_app(config: SimulatorConfig | None = None) -> SimulatorApp:
    """A ready simulator app; its `Simulator` (faults, scripts, stats) is `app.state.simulator`."""
    config = config or SimulatorConfig()
    catalog = config.catalog or PriceCatalog.shipped()
    profiles = (
        ModelProfiles.from_path(config.models_path, catalog)
        if config.models_path
        else ModelProfiles.shipped(catalog)
    )
    book = (
        RecordingBook.from_path(config.recordings_path)
        if config.recordings_path
        else RecordingBook.shipped()
    )
    simulator = Simulator(config, profiles, book, config.tokenizers or TokenizerRegistry())
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/messages", anthropic_messages, methods=["POST"]),
    ]
    if config.control:
        routes += control_routes()
    app = SimulatorApp(
        routes=routes,
        exception_handlers={
            SimulatorError: _simulator_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.simulator = simulator
    return app


def _simulator(request: Request) -> Simulator:
    simulator: Simulator = request.app.state.simulator
    return simulator


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok", "simulator": OWNED_BY})


async def list_models(request: Request) -> Response:
    simulator = _simulator(request)
    simulator.check_key(request.headers)
    return json_response(models_list(simulator.profiles.values()))


async def get_model(request: Request) -> Response:
    simulator = _simulator(request)
    simulator.check_key(request.headers)
    profile = simulator.profiles.get(request.path_params["model_id"])
    if profile is None:
        raise ModelNotFound(request.path_params["model_id"])
    return json_response(model_card(profile))


async def chat_completions(request: Request) -> ASGIApp:
    simulator = _simulator(request)
    simulator.check_key(request.headers)
    return await simulator.chat(await request.body(), request.headers)


async def embeddings(request: Request) -> ASGIApp:
    simulator = _simulator(request)
    simulator.check_key(request.headers)
    return await simulator.embed(await request.body(), request.headers)


async def anthropic_messages(request: Request) -> ASGIApp:
    """The Anthropic-wire simulator (gateway/simulator/anthropic_api.py)."""
    return await messages(_simulator(request), await request.body(), request.headers)


async def _simulator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimulatorError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(405, f"Method {request.method} not allowed.", "invalid_request_error",
                              code="method_not_allowed")
    return error_response(exc.status_code, f"Unknown path {request.url.path}.",
                          "invalid_request_error", code="not_found")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ConnectionResetUnavailable):  # an injected fault, not a bug
        logger.info("reset fault served as an exception: no socket under this client")
    else:
        logger.exception("simulator error on %s", request.url.path)
    return error_response(500, "The simulator failed unexpectedly.", "server_error")
