"""Chat parameters the gateway does not act on reach the upstream untouched."""

from __future__ import annotations

import openai

from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import RunningGateway

SCHEMA = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": {
    "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
    "additionalProperties": False}}}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}}}}


def test_tools_schema_seed_and_logprobs_pass_through(gateway: RunningGateway,
                                                     sim: SimulatorHandle) -> None:
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], response_format=SCHEMA,  # type: ignore[arg-type]
        seed=7, logprobs=True, top_logprobs=2, tools=[TOOL], tool_choice="auto",  # type: ignore[list-item]
        parallel_tool_calls=False)
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["response_format"] == SCHEMA
    assert (sent["seed"], sent["logprobs"], sent["top_logprobs"]) == (7, True, 2)
    assert sent["tools"] == [TOOL] and sent["tool_choice"] == "auto"
    assert sent["parallel_tool_calls"] is False
    forced = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], tools=[TOOL],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "lookup"}})
    call = forced.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert forced.usage is not None and forced.usage.completion_tokens > 0
