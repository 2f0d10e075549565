"""Real chat requests through the gateway to a real local model (SmolLM2-135M via llama.cpp)."""

from __future__ import annotations

import openai

from tests.gateway.conftest import GatewayFactory, sim_config

LOCAL = "smollm2-135m-instruct"


def local_config(sim, local_model: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    config = sim_config(sim)
    config["models"].append({
        "name": LOCAL, "tier": "local",
        "upstream": {"base_url": local_model, "model": LOCAL,
                     "timeout": {"first_byte_s": 120, "total_s": 300}}})
    config["routes"]["router:cheapest"] = {"router": "cheapest"}
    return config


def test_local_model_answers_through_the_gateway(sim, local_model: str,  # type: ignore[no-untyped-def]
                                                 gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(local_config(sim, local_model))
    client = openai.OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=300)
    raw = client.chat.completions.with_raw_response.create(
        model=LOCAL, messages=[{"role": "user", "content": "Say hello in one word."}],
        max_tokens=16, temperature=0)
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert raw.headers["x-costroute-model"] == LOCAL
    assert float(raw.headers["x-costroute-cost-usd"]) == 0.0  # local: zero marginal price

    chunks = list(client.chat.completions.create(
        model=LOCAL, messages=[{"role": "user", "content": "Count to three."}], max_tokens=16,
        stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None


def test_cheapest_route_picks_the_local_model(sim, local_model: str,  # type: ignore[no-untyped-def]
                                              gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(local_config(sim, local_model))
    client = openai.OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=300)
    raw = client.chat.completions.with_raw_response.create(
        model="router:cheapest", messages=[{"role": "user", "content": "Hi!"}], max_tokens=8)
    assert raw.headers["x-costroute-model"] == LOCAL
