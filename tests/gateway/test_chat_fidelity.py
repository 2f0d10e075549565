"""Chat parameters the gateway does not act on reach the upstream untouched."""

from __future__ import annotations

import openai
import pytest

from gateway.simulator.server import SimulatorHandle
from pricing import PriceCatalog, TokenizerRegistry, Usage, cost_usd
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


def test_n_choices_pass_through_and_bill_the_prompt_once(gateway: RunningGateway,
                                                         sim: SimulatorHandle) -> None:
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    sim.control.script("gpt-4o-mini", ["The first answer.", "A second, longer answer here."])
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], n=2, seed=3,
        logprobs=True, top_logprobs=1)
    answer = raw.parse()
    assert [c.index for c in answer.choices] == [0, 1]
    assert [c.message.content for c in answer.choices] == [
        "The first answer.", "A second, longer answer here."]
    sent = sim.control.stats()["recent"][-1]["body"]
    assert (sent["n"], sent["seed"], sent["logprobs"], sent["top_logprobs"]) == (2, 3, True, 1)
    usage = answer.usage
    assert usage is not None
    tokenizer = TokenizerRegistry().get(PriceCatalog.shipped()["gpt-4o-mini"].tokenizer)
    both = sum(tokenizer.count(c.message.content or "") for c in answer.choices)
    assert usage.completion_tokens == both  # each completion billed
    one = client.chat.completions.create(model="gpt-4o-mini", n=1,
                                         messages=[{"role": "user", "content": "Hi"}])
    assert one.usage is not None and usage.prompt_tokens == one.usage.prompt_tokens  # once
    price = PriceCatalog.shipped()["gpt-4o-mini"]
    assert float(raw.headers["x-costroute-cost-usd"]) == pytest.approx(
        cost_usd(price, Usage(usage.prompt_tokens, usage.completion_tokens)), abs=1e-8)


def test_n_choices_stream_with_their_indexes_and_summed_usage(gateway: RunningGateway,
                                                              sim: SimulatorHandle) -> None:
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    sim.control.script("gpt-4o-mini", ["Alpha beta.", "Gamma delta epsilon."])
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], n=2, stream=True,
        stream_options={"include_usage": True})
    texts = ["", ""]
    usage = cost = None
    for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
        if chunk.usage is not None:
            usage, cost = chunk.usage, (chunk.model_extra or {})["x_costroute"]["cost_usd"]
    assert texts == ["Alpha beta.", "Gamma delta epsilon."]
    assert usage is not None
    tokenizer = TokenizerRegistry().get(PriceCatalog.shipped()["gpt-4o-mini"].tokenizer)
    assert usage.completion_tokens == sum(tokenizer.count(t) for t in texts)
    assert cost == pytest.approx(cost_usd(PriceCatalog.shipped()["gpt-4o-mini"], Usage(
        usage.prompt_tokens, usage.completion_tokens)), abs=1e-9)
