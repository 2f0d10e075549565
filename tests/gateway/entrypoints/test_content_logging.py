"""An opted-in tenant's prompts and answers are logged on Responses and Messages too."""

from __future__ import annotations

import logging

import anthropic
import openai
import pytest

from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import ContentLoggingConfig, TenantConfig, hash_key
from tests.gateway.conftest import GatewayFactory
from tests.gateway.entrypoints.conftest import api_config

LOGGED_KEY = "cr-test-key-logged-tenant"


def test_responses_and_messages_are_content_logged(
        sim: SimulatorHandle, gateway_factory: GatewayFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    tenant = TenantConfig(name="logged", key_sha256=[hash_key(LOGGED_KEY)],
                          content_logging=ContentLoggingConfig(enabled=True))
    gw = gateway_factory(api_config(sim), [tenant])
    caplog.set_level(logging.INFO, logger="costroute.content")
    oai = openai.OpenAI(base_url=gw.base_url, api_key=LOGGED_KEY, max_retries=0)
    ant = anthropic.Anthropic(base_url=gw.root_url, api_key=LOGGED_KEY, max_retries=0)
    answer = oai.responses.create(model="gpt-4o-mini", input="first question")
    events = list(oai.responses.create(model="gpt-4o-mini", input="second question",
                                       stream=True))
    message = ant.messages.create(model="gpt-4o", max_tokens=50,
                                  messages=[{"role": "user", "content": "third question"}])
    records = [r for r in caplog.records if r.name == "costroute.content"]
    fields = [getattr(r, "fields", {}) for r in records]
    assert len(fields) == 3
    assert fields[0]["completion"] == answer.output_text
    assert fields[1]["completion"] == events[-1].response.output_text  # type: ignore[union-attr]
    assert fields[2]["completion"] == message.content[0].text  # type: ignore[union-attr]
    assert fields[2]["prompt"][-1]["content"] == "third question"
