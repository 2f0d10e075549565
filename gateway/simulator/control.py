"""The `/_simulator/*` control endpoints that tests use to inject faults, script answers and count.

    POST   /_simulator/faults   {"model", "kind", "count"?, "retry_after"?, "delay_s"?,
                                 "after_chunks"?, "status"?, "vllm_shape"?}  -> 200 pending
    GET    /_simulator/faults   -> {"faults": {model: [{kind, ..., count}]}}
    DELETE /_simulator/faults   (?model=M clears one model) -> 200
    POST   /_simulator/script   {"model", "responses": [str, ...]} -> 200 pending
    DELETE /_simulator/script   (?model=M) -> 200
    GET    /_simulator/stats    -> {"total", "requests": {model: n}, "faults": {...}, "recent": [...]}
    DELETE /_simulator/stats    -> 200
    POST   /_simulator/reset    clears faults, scripts and stats -> 200
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.simulator.errors import BadRequest, json_response
from gateway.simulator.faults import parse_fault_request
from gateway.simulator.serving import Simulator


def control_routes() -> list[Route]:
    return [
        Route("/_simulator/faults", arm_fault, methods=["POST"]),
        Route("/_simulator/faults", list_faults, methods=["GET"]),
        Route("/_simulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_simulator/script", push_script, methods=["POST"]),
        Route("/_simulator/script", clear_scripts, methods=["DELETE"]),
        Route("/_simulator/stats", read_stats, methods=["GET"]),
        Route("/_simulator/stats", reset_stats, methods=["DELETE"]),
        Route("/_simulator/reset", reset_all, methods=["POST"]),
    ]


def _simulator(request: Request) -> Simulator:
    simulator: Simulator = request.app.state.simulator
    return simulator


async def _json(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("the body must be valid JSON") from None


async def arm_fault(request: Request) -> Response:
    simulator = _simulator(request)
    model, fault, count = parse_fault_request(await _json(request), set(simulator.profiles))
    simulator.faults.arm(model, fault, count)
    return json_response({"faults": simulator.faults.pending()})


async def list_faults(request: Request) -> Response:
    return json_response({"faults": _simulator(request).faults.pending()})


async def clear_faults(request: Request) -> Response:
    simulator = _simulator(request)
    simulator.faults.clear(request.query_params.get("model"))
    return json_response({"faults": simulator.faults.pending()})


async def push_script(request: Request) -> Response:
    simulator = _simulator(request)
    body = await _json(request)
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or model not in simulator.profiles:
        raise BadRequest(f"'model' must be one of {sorted(simulator.profiles)}", param="model")
    responses = body.get("responses")
    if not isinstance(responses, list) or not all(isinstance(r, str) for r in responses):
        raise BadRequest("'responses' must be an array of strings", param="responses")
    simulator.scripts.push(model, responses)
    return json_response({"scripts": simulator.scripts.pending()})


async def clear_scripts(request: Request) -> Response:
    simulator = _simulator(request)
    simulator.scripts.clear(request.query_params.get("model"))
    return json_response({"scripts": simulator.scripts.pending()})


async def read_stats(request: Request) -> Response:
    return json_response(_simulator(request).stats.to_json())


async def reset_stats(request: Request) -> Response:
    simulator = _simulator(request)
    simulator.stats.reset()
    return json_response(simulator.stats.to_json())


async def reset_all(request: Request) -> Response:
    simulator = _simulator(request)
    simulator.faults.clear()
    simulator.scripts.clear()
    simulator.stats.reset()
    return json_response({"reset": True})
