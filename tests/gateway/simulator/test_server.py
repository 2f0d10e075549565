"""Running the simulator in-thread: free ports, clean shutdown, resets behind a host app."""

from __future__ import annotations

import threading

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.simulator import (
    SimulatorConfig,
    SimulatorControl,
    capture_transport,
    create_simulator_app,
    run_simulator,
    serve_in_thread,
)
from gateway.simulator.transport import ConnectionResetUnavailable
from pricing import TokenizerRegistry
from tests.gateway.simulator.helpers import chat_body

BODY = chat_body("gpt-4o", "Tell me about rivers.")


def test_port_zero_gives_each_simulator_its_own_port(tokenizers: TokenizerRegistry) -> None:
    config = SimulatorConfig(latency_scale=0, tokenizers=tokenizers)
    with run_simulator(config) as first, run_simulator(config) as second:
        assert first.port != second.port
        first.control.inject_fault("gpt-4o", "http_500")
        assert httpx.post(f"{second.base_url}/chat/completions", json=BODY).status_code == 200
        assert httpx.post(f"{first.base_url}/chat/completions", json=BODY).status_code == 500


def test_a_client_leaving_mid_stream_is_handled(tokenizers: TokenizerRegistry) -> None:
    config = SimulatorConfig(latency_scale=1, tokenizers=tokenizers)
    with run_simulator(config) as sim:
        with httpx.stream("POST", f"{sim.base_url}/chat/completions",
                          json={**BODY, "stream": True}) as reply:
            first_line = next(reply.iter_lines())
        assert first_line.startswith("data: ")
        assert httpx.get(f"{sim.root_url}/healthz").status_code == 200


def test_shutdown_does_not_wait_for_a_hung_request(tokenizers: TokenizerRegistry) -> None:
    outcome: list[BaseException] = []

    def call(url: str) -> None:
        try:
            httpx.post(url, json=BODY, timeout=60)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    config = SimulatorConfig(latency_scale=0, tokenizers=tokenizers)
    with run_simulator(config) as sim:
        sim.control.inject_fault("gpt-4o", "timeout", delay_s=600)
        caller = threading.Thread(target=call, args=(f"{sim.base_url}/chat/completions",))
        caller.start()
        while sim.control.requests("gpt-4o") == 0:
            threading.Event().wait(0.01)
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert len(outcome) == 1


def wrapping_host(app: ASGIApp) -> ASGIApp:
    """A host app whose middleware wraps `send`, as FastAPI's error middleware does."""

    async def host(scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped_send(message: Message) -> None:
            await send(message)

        await app(scope, receive, wrapped_send)

    return host


def test_capture_transport_keeps_resets_working_under_a_host_app(
    tokenizers: TokenizerRegistry,
) -> None:
    simulator = create_simulator_app(SimulatorConfig(latency_scale=0, tokenizers=tokenizers))
    with (
        serve_in_thread(capture_transport(wrapping_host(simulator))) as root,
        SimulatorControl(root) as control,
    ):
        control.inject_fault("gpt-4o", "reset")
        with pytest.raises(httpx.ReadError):
            httpx.post(f"{root}/v1/chat/completions", json=BODY)
        assert httpx.post(f"{root}/v1/chat/completions", json=BODY).status_code == 200


async def test_in_process_clients_get_an_exception_instead_of_a_reset(
    tokenizers: TokenizerRegistry,
) -> None:
    app = create_simulator_app(SimulatorConfig(latency_scale=0, tokenizers=tokenizers))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        await http.post("/_simulator/faults", json={"model": "gpt-4o", "kind": "reset"})
        with pytest.raises(ConnectionResetUnavailable):
            await http.post("/v1/chat/completions", json=BODY)
