"""Responses and Messages answers are captured for the learning loop, as chat's are, and can
be rated by their x-request-id."""

from __future__ import annotations

from pathlib import Path

import anthropic
import openai

from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import TEST_KEY, GatewayFactory
from tests.gateway.entrypoints.conftest import api_config
from tests.gateway.records.test_feedback_http import learning_tenants, rate, read


def test_responses_and_messages_are_captured(sim: SimulatorHandle,
                                             gateway_factory: GatewayFactory,
                                             tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    gw = gateway_factory(api_config(sim, records={"kind": "sqlite", "path": str(path)}),
                         learning_tenants())
    oai = openai.OpenAI(base_url=gw.base_url, api_key=TEST_KEY, max_retries=0)
    ant = anthropic.Anthropic(base_url=gw.root_url, api_key=TEST_KEY, max_retries=0)
    raw = oai.responses.with_raw_response.create(model="gpt-4o-mini", input="Hi there")
    streamed = oai.responses.with_raw_response.create(model="gpt-4o-mini", input="Hi again",
                                                      stream=True)
    final = list(streamed.parse())[-1]
    message = ant.messages.with_raw_response.create(
        model="gpt-4o", max_tokens=40, messages=[{"role": "user", "content": "Hello"}])
    texts = [raw.parse().output_text, final.response.output_text,  # type: ignore[union-attr]
             message.parse().content[0].text]  # type: ignore[union-attr]
    for response, text in zip((raw, streamed, message), texts, strict=True):
        request_id = response.headers["x-request-id"]
        assert rate(gw, {"request_id": request_id, "score": 1}).status_code == 200
        assert read(path, "get_request", "tenant-a", request_id).answer == text
