"""The OpenAI-compatible upstream simulator: named models with real prices, replayed answers.

Public API:
    create_simulator_app(config) -> SimulatorApp      the ASGI app (Starlette)
    SimulatorConfig                                   latency scale, seed, API key, data paths
    run_simulator(config, host=, port=0)              context manager -> SimulatorHandle (thread)
    start_simulator_process(args)                     context manager -> SimulatorHandle (child)
    SimulatorHandle(.base_url, .root_url, .port, .control)
    SimulatorControl                                  client of the /_simulator/* endpoints
    serve_in_thread(app, host=, port=0)               context manager -> root URL, any ASGI app
    capture_transport(app)                            lets a host app that mounts it keep resets
"""

from gateway.simulator.app import SimulatorApp, create_simulator_app
from gateway.simulator.config import OWNED_BY, SYSTEM_FINGERPRINT, SimulatorConfig
from gateway.simulator.control_client import SimulatorControl, SimulatorControlError
from gateway.simulator.faults import FaultKind
from gateway.simulator.process import start_simulator_process
from gateway.simulator.server import SimulatorHandle, run_simulator, serve_in_thread
from gateway.simulator.transport import capture_transport

__all__ = [
    "OWNED_BY",
    "SYSTEM_FINGERPRINT",
    "FaultKind",
    "SimulatorApp",
    "SimulatorConfig",
    "SimulatorControl",
    "SimulatorControlError",
    "SimulatorHandle",
    "capture_transport",
    "create_simulator_app",
    "run_simulator",
    "serve_in_thread",
    "start_simulator_process",
]
