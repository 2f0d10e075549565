"""With an API key configured, /v1 requires `Authorization: Bearer <key>`; controls do not."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from gateway.simulator import SimulatorConfig, SimulatorHandle, run_simulator
from pricing import TokenizerRegistry
from tests.gateway.simulator.helpers import chat_body, user
from tests.openai_schema import assert_openai

KEY = "sk-sim-secret"


@pytest.fixture(scope="module")
def locked(tokenizers: TokenizerRegistry) -> Iterator[SimulatorHandle]:
    config = SimulatorConfig(latency_scale=0, api_key=KEY, tokenizers=tokenizers)
    with run_simulator(config) as handle:
        yield handle


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": KEY},
                {"authorization": f"Basic {KEY}"}]
)
def test_missing_or_wrong_key_is_401(locked: SimulatorHandle, headers: dict[str, str]) -> None:
    for method, path in (("POST", "/chat/completions"), ("GET", "/models")):
        reply = httpx.request(method, locked.base_url + path, json=chat_body("gpt-4o", "hi"),
                              headers=headers)
        assert reply.status_code == 401
        assert_openai(reply.json(), "ErrorResponse")
        assert reply.json()["error"]["code"] == "invalid_api_key"


def test_right_key_is_served(locked: SimulatorHandle) -> None:
    with openai.OpenAI(base_url=locked.base_url, api_key=KEY, max_retries=0) as client:
        assert client.chat.completions.create(model="gpt-4o", messages=user("hi")).choices


def test_openai_client_with_a_wrong_key_gets_authentication_error(locked: SimulatorHandle) -> None:
    with (
        openai.OpenAI(base_url=locked.base_url, api_key="sk-nope", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.models.list()


def test_control_endpoints_and_health_need_no_key(locked: SimulatorHandle) -> None:
    locked.control.inject_fault("gpt-4o", "http_500")
    locked.control.clear_faults()
    assert httpx.get(f"{locked.root_url}/healthz").status_code == 200
