"""Fixtures: one simulator per session, served over loopback HTTP with no simulated latency."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway.simulator import SimulatorConfig, SimulatorHandle, run_simulator
from pricing import TokenizerRegistry
from tests.gateway.simulator.helpers import GSM8K_DIR


@pytest.fixture(scope="session")
def tokenizers() -> TokenizerRegistry:
    return TokenizerRegistry()


@pytest.fixture(scope="session")
def simulator(tokenizers: TokenizerRegistry) -> Iterator[SimulatorHandle]:
    with run_simulator(SimulatorConfig(latency_scale=0, tokenizers=tokenizers)) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _clean_simulator(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with no faults, no scripts and zero counts."""
    yield
    if "simulator" in request.fixturenames:
        request.getfixturevalue("simulator").control.reset()


@pytest.fixture(autouse=True)
def _no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The server thread must never log an error (unhandled exception, half-sent response)."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
def client(simulator: SimulatorHandle) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0) as c:
        yield c


@pytest.fixture
async def async_client(simulator: SimulatorHandle) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=simulator.base_url, api_key="sk-test", max_retries=0
    ) as c:
        yield c


@pytest.fixture
def http(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, timeout=10) as c:
        yield c


@pytest.fixture
def gsm8k_dir() -> Path:
    if not (GSM8K_DIR / "gsm8k_responses.csv").is_file():
        pytest.skip(f"shared data not found at {GSM8K_DIR}")
    return GSM8K_DIR
