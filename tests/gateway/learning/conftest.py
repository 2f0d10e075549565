"""Fixtures of the learning tests: the simulator (with its simulated judge) and a tenant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.simulator.recordings import RecordingBook
from gateway.simulator.server import SimulatorHandle, run_simulator
from gateway.tenants.config import TenantConfig, hash_key

KEY = "cr-test-key-learning"
JUDGE_PRICE = {"input_per_mtok": 0.15, "output_per_mtok": 0.60, "tokenizer": "o200k_base",
               "context_window": 128000, "max_output_tokens": 16384}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with run_simulator(SimulatorConfig(latency_scale=0)) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> None:
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").control.reset()


@pytest.fixture(scope="module")
def recorded_prompt() -> str:
    """A GSM8K prompt the simulator has recordings (and so recorded outcomes) for."""
    return next(iter(RecordingBook.shipped())).prompt


def learning_config(sim: SimulatorHandle) -> dict[str, Any]:
    up = {"base_url": sim.base_url}
    return {
        "models": [
            {"name": "gpt-4o-mini", "upstream": up, "quality": 0.82},
            {"name": "gpt-4o", "upstream": up, "quality": 0.89},
            {"name": "mistralai/Mixtral-8x7B-Instruct-v0.1", "upstream": up, "quality": 0.68},
            {"name": SIMULATED_JUDGE, "upstream": up, "price": JUDGE_PRICE},
        ],
        "routes": {"auto": {"router": "table", "models": [
            "gpt-4o-mini", "gpt-4o", "mistralai/Mixtral-8x7B-Instruct-v0.1"]}},
        "records": {"kind": "none"},  # the harness's ListSink stands in for the outbox
        "retry": {"max_attempts": 1, "backoff_base_s": 0.01, "backoff_max_s": 0.05,
                  "retry_after_cap_s": 0.2, "failures_before_cooldown": 100},
    }


def learning_tenant(**learning: Any) -> TenantConfig:
    settings: dict[str, Any] = {
        "capture": True, "shadow_rate": 1.0, "judge": {"model": SIMULATED_JUDGE},
        "budget": {"period": "day", "limit_usd": 5.0}}
    settings.update(learning)
    return TenantConfig.model_validate({
        "name": "acme", "key_sha256": [hash_key(KEY)], "learning": settings})
