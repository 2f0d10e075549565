"""Running the simulator (or any ASGI app) for tests and benchmarks in a background thread.

    with run_simulator(SimulatorConfig(latency_scale=0)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="unused")
        sim.control.inject_fault("gpt-4o", "http_500", count=2)
        ...
        assert sim.control.requests("gpt-4o") == 3
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from gateway.simulator.app import create_simulator_app
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.control_client import SimulatorControl
from gateway.simulator.transport import abort_with_reset

READY_PREFIX = "costroute-simulator listening on "


@dataclass(frozen=True)
class SimulatorHandle:
    """A running simulator: `base_url` is what an OpenAI client takes (ends in `/v1`)."""

    root_url: str
    port: int
    control: SimulatorControl

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one, with no window for another to take it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # TCP, and proto 0 would leave Nagle on (a 40 ms delayed-ACK stall per small response).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class SimulatorServer(uvicorn.Server):
    """uvicorn's server, except that stopping drops open connections at once (with RST).

    A simulated upstream that is stopped behaves like a killed one, and a request hung by a
    `timeout` fault cannot hold the shutdown for uvicorn's graceful period.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if isinstance(transport, asyncio.BaseTransport):
                abort_with_reset(transport)
        await super().shutdown(sockets)


def uvicorn_config(
    app: Any, log_level: str = "warning", access_log: bool = False, console_logs: bool = False
) -> uvicorn.Config:
    """uvicorn settings for the simulator: plain asyncio and h11, no websockets, no lifespan.

    `console_logs` installs uvicorn's own log format (for the command line); otherwise logging
    is left alone, as a host process or pytest has configured it.
    """
    return uvicorn.Config(
        app,
        http="h11",
        loop="asyncio",
        ws="none",
        lifespan="off",
        log_config=LOGGING_CONFIG if console_logs else None,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
    )


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 10.0
) -> Iterator[str]:
    """Serve any ASGI app with uvicorn from a daemon thread; yields its root URL.

    The socket is bound before the thread starts, so port 0 is race-free. On exit the server
    gets a second to finish open requests, then is forced down (a hung fault cannot block).
    """
    sock = bind_socket(host, port)
    server = SimulatorServer(uvicorn_config(app))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="costroute-uvicorn", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread, startup_timeout_s)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()


@contextmanager
def run_simulator(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout_s: float = 10.0,
) -> Iterator[SimulatorHandle]:
    """Serve a simulator from a daemon thread for the duration of the `with` block."""
    app = create_simulator_app(config)
    with (
        serve_in_thread(app, host=host, port=port, startup_timeout_s=startup_timeout_s) as root,
        SimulatorControl(root) as control,
    ):
        yield SimulatorHandle(root_url=root, port=int(root.rsplit(":", 1)[1]), control=control)


def _wait_started(server: SimulatorServer, thread: threading.Thread, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the simulator thread exited during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the simulator did not start within {timeout_s} s")
        time.sleep(0.005)
