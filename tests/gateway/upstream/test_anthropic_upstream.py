"""The native Anthropic upstream adapter against the Anthropic-wire simulator, over loopback:
chat, Responses and Messages requests are answered by a Messages upstream."""

from __future__ import annotations

import anthropic
import openai
import pytest

from gateway.simulator.server import SimulatorHandle
from pricing import PriceCatalog, Usage, cost_usd
from tests.gateway.conftest import GatewayFactory, RunningGateway, sim_config

CLAUDE = "claude-3-5-haiku-20241022"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}}, "required": ["city"]}}}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


@pytest.fixture
def gw(sim: SimulatorHandle, gateway_factory: GatewayFactory) -> RunningGateway:
    config = sim_config(sim)
    config["models"] = [*config["models"], {"name": CLAUDE, "upstream": {
        "base_url": sim.base_url, "api": "anthropic"}}]
    return gateway_factory(config)


def oai(gw: RunningGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0)


def price(usage: Usage) -> float:
    return cost_usd(PriceCatalog.shipped()[CLAUDE], usage)


def test_chat_round_trip_with_system_and_stop(gw: RunningGateway, sim: SimulatorHandle) -> None:
    raw = oai(gw).chat.completions.with_raw_response.create(
        model=CLAUDE, max_tokens=60, temperature=1.5, stop=["\n\n\n"],
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Name three primary colours."}])
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["system"] == [{"type": "text", "text": "Be brief."}]
    assert sent["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "Name three primary colours."}]}]
    assert sent["max_tokens"] == 60 and sent["temperature"] == 1.0
    assert sent["stop_sequences"] == ["\n\n\n"]
    usage = completion.usage
    assert usage is not None
    assert float(raw.headers["x-costroute-cost-usd"]) == pytest.approx(
        price(Usage(usage.prompt_tokens, usage.completion_tokens)), abs=1e-10)


def test_tool_call_conversation(gw: RunningGateway, sim: SimulatorHandle) -> None:
    first = oai(gw).chat.completions.create(
        model=CLAUDE, tools=[WEATHER], tool_choice="required",  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.function.arguments == '{"city":"simulated"}'  # type: ignore[union-attr]
    assert sim.control.stats()["recent"][-1]["body"]["tool_choice"] == {"type": "any"}
    second = oai(gw).chat.completions.create(model=CLAUDE, tools=[WEATHER], messages=[  # type: ignore[list-item]
        {"role": "user", "content": "Weather in Paris?"},
        choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": "18C"}])
    assert second.choices[0].message.content
    sent = sim.control.stats()["recent"][-1]["body"]["messages"]
    assert sent[1]["content"][0] == {"type": "tool_use", "id": call.id, "name": "get_weather",
                                     "input": {"city": "simulated"}}
    assert sent[2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call.id, "content": "18C"}]}


def test_image_parts_become_image_blocks(gw: RunningGateway, sim: SimulatorHandle) -> None:
    oai(gw).chat.completions.create(model=CLAUDE, max_tokens=20, messages=[{
        "role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}]}])
    blocks = sim.control.stats()["recent"][-1]["body"]["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": PIXEL}}


def test_cache_writes_and_reads_are_priced_at_their_own_rates(gw: RunningGateway) -> None:
    system = {"role": "system", "content": [{
        "type": "text", "text": "You are a meticulous assistant for the cache test. " * 60,
        "cache_control": {"type": "ephemeral"}}]}
    ask = [system, {"role": "user", "content": "Hello cache"}]
    results = []
    for _ in range(2):
        raw = oai(gw).chat.completions.with_raw_response.create(
            model=CLAUDE, max_tokens=30, messages=ask)  # type: ignore[arg-type]
        body = raw.http_response.json()
        results.append((Usage.from_openai(body["usage"]), float(
            raw.headers["x-costroute-cost-usd"])))
    (written, first_cost), (read, second_cost) = results
    assert written.cache_write_prompt_tokens > 0 and written.cached_prompt_tokens == 0
    assert read.cached_prompt_tokens == written.cache_write_prompt_tokens
    assert read.cache_write_prompt_tokens == 0
    assert first_cost == pytest.approx(price(written), abs=1e-10)
    assert second_cost == pytest.approx(price(read), abs=1e-10)
    catalog = PriceCatalog.shipped()[CLAUDE]
    assert catalog.cache_write_rate > catalog.input_per_mtok > catalog.cached_rate
    assert second_cost < first_cost


def test_stream_translates_events_and_settles_actual_cost(gw: RunningGateway) -> None:
    chunks = list(oai(gw).chat.completions.create(
        model=CLAUDE, max_tokens=80, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Tell me a story."}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    last = chunks[-1]
    assert last.usage is not None and last.usage.completion_tokens > 0
    cost = last.model_extra["x_costroute"]["cost_usd"]  # type: ignore[index]
    assert cost == pytest.approx(price(Usage(last.usage.prompt_tokens,
                                             last.usage.completion_tokens)))


def test_streamed_tool_call(gw: RunningGateway) -> None:
    chunks = list(oai(gw).chat.completions.create(
        model=CLAUDE, stream=True, tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        messages=[{"role": "user", "content": "Weather?"}]))
    arguments = "".join(c.choices[0].delta.tool_calls[0].function.arguments or ""  # type: ignore[index, union-attr]
                        for c in chunks if c.choices and c.choices[0].delta.tool_calls)
    assert arguments == '{"city":"simulated"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_stream_cut_midway_is_an_error_event(gw: RunningGateway, sim: SimulatorHandle) -> None:
    sim.control.inject_fault(CLAUDE, "truncated_sse", after_chunks=2)
    with pytest.raises(openai.APIError):
        list(oai(gw).chat.completions.create(
            model=CLAUDE, max_tokens=80, stream=True,
            messages=[{"role": "user", "content": "Tell me a story."}]))


def test_upstream_error_in_anthropic_shape_becomes_gateway_error(gw: RunningGateway,
                                                                 sim: SimulatorHandle) -> None:
    sim.control.inject_fault(CLAUDE, "http_500", count=5)
    with pytest.raises(openai.APIStatusError) as info:
        oai(gw).chat.completions.create(model=CLAUDE,
                                        messages=[{"role": "user", "content": "Hi"}])
    assert info.value.status_code == 502
    assert "Internal server error" in info.value.message


# The anthropic SDK warns that the catalog's Claude snapshots are past their end of life.
@pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
def test_messages_and_responses_inbound_over_the_anthropic_upstream(
        gw: RunningGateway) -> None:
    client = anthropic.Anthropic(base_url=gw.root_url, api_key=gw.key, max_retries=0)
    message = client.messages.create(model=CLAUDE, max_tokens=50,
                                     messages=[{"role": "user", "content": "Hi"}])
    assert message.content[0].text  # type: ignore[union-attr]
    response = oai(gw).responses.create(model=CLAUDE, input="Hi")
    assert response.output_text


@pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
def test_messages_inbound_reports_cache_tokens_apart(gw: RunningGateway) -> None:
    client = anthropic.Anthropic(base_url=gw.root_url, api_key=gw.key, max_retries=0)
    system = [{"type": "text", "text": "A long, cacheable system prompt for messages. " * 60,
               "cache_control": {"type": "ephemeral"}}]
    first = client.messages.create(model=CLAUDE, max_tokens=20, system=system,  # type: ignore[arg-type]
                                   messages=[{"role": "user", "content": "Hi cache"}])
    second = client.messages.create(model=CLAUDE, max_tokens=20, system=system,  # type: ignore[arg-type]
                                    messages=[{"role": "user", "content": "Hi cache"}])
    assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.input_tokens == first.usage.input_tokens
