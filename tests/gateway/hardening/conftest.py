"""Hardening fixtures (besides tests/gateway/conftest.py's): a stack of real processes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.config import parse_config
from gateway.server import ServeOptions, make_app
from gateway.simulator.process import start_simulator_process
from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import TEST_KEY, RunningGateway, default_tenants, sim_config
from tests.gateway.hardening.stack import Stack
from tests.openai_schema import assert_openai
from tests.servers import serve_asgi

# Every tenant a process-level scenario uses; each scenario reads back only its own spend.
STACK_TENANTS = ["slow", "slow_past_timeout", "stall", "http_500", "http_429", "reset",
                 "truncated_sse", "malformed_sse", "redis", "drain", "reload", "admin"]


@pytest.fixture(scope="module")
def shared_gateway(sim: SimulatorHandle,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """One in-process gateway over loopback for a whole module of stateless probes."""
    spend_log = tmp_path_factory.mktemp("gateway") / "spend.jsonl"
    config = sim_config(sim, store={"kind": "memory", "path": str(spend_log)},
                        records={"kind": "sqlite", "path": str(spend_log.parent / "rec.sqlite3")})
    with serve_asgi(make_app(ServeOptions(parse_config(config), default_tenants()))) as root:
        yield RunningGateway(f"{root}/v1", TEST_KEY, root)


@pytest.fixture(scope="module")
def sim_process() -> Iterator[SimulatorHandle]:
    """The simulator as a child process, as `costroute simulate` runs it."""
    with start_simulator_process() as handle:
        yield handle


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory,
          sim_process: SimulatorHandle) -> Iterator[Stack]:
    """Redis and one gateway process over it, in front of the simulator process."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run scripts/setup.sh --test")
    running = Stack.start(tmp_path_factory.mktemp("stack"), sim_process, STACK_TENANTS)
    yield running
    running.stop()


def assert_error_shape(response: httpx.Response | dict[str, Any]) -> dict[str, Any]:
    """The `error` object of an OpenAI-shaped error body (fails the test otherwise)."""
    body = response.json() if isinstance(response, httpx.Response) else response
    assert "detail" not in body, body
    assert_openai(body, "ErrorResponse")
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    return error
