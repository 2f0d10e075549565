"""`/v1/completions` (legacy text completions) through the gateway with the openai client."""

from __future__ import annotations

import httpx
import openai
import pytest

from gateway.simulator.server import SimulatorHandle
from pricing import PriceCatalog, Usage, cost_usd
from tests.gateway.conftest import RunningGateway
from tests.gateway.entrypoints.conftest import BROKE_KEY


def client(gw: RunningGateway, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=key or gw.key, max_retries=0)


def test_a_prompt_is_one_user_message_priced_like_chat(api: RunningGateway,
                                                        sim: SimulatorHandle) -> None:
    raw = client(api).completions.with_raw_response.create(
        model="gpt-4o-mini", prompt="Once upon a time", temperature=0.3, stop=["\n\n"])
    body = raw.http_response.json()  # the shared spec subset has no text-completion schema
    assert set(body) >= {"id", "object", "created", "model", "choices", "usage"}
    completion = raw.parse()
    assert completion.object == "text_completion" and completion.id.startswith("cmpl-")
    assert completion.choices[0].text and completion.choices[0].logprobs is None
    usage = completion.usage
    assert usage is not None and usage.completion_tokens <= 16  # OpenAI's default max_tokens
    expected = cost_usd(PriceCatalog.shipped()["gpt-4o-mini"],
                        Usage(usage.prompt_tokens, usage.completion_tokens))
    assert float(raw.headers["x-costroute-cost-usd"]) == pytest.approx(expected, abs=1e-10)
    sent = sim.control.stats()["recent"][-1]["body"]
    assert sent["messages"] == [{"role": "user", "content": "Once upon a time"}]
    assert (sent["max_tokens"], sent["temperature"], sent["stop"]) == (16, 0.3, ["\n\n"])


def test_a_route_alias_streams_text_chunks_with_usage(api: RunningGateway) -> None:
    chunks = list(client(api).completions.create(
        model="router:cheapest", prompt=["Tell me a story."], max_tokens=40, stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text and all(c.object == "text_completion" for c in chunks)
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 40
    assert chunks[-1].model_extra["x_costroute"]["cost_usd"] > 0  # type: ignore[index]


@pytest.mark.parametrize(("fields", "param"), [
    ({"prompt": [1, 2, 3]}, "prompt"),
    ({"prompt": ["a", "b"]}, "prompt"),
    ({}, "prompt"),
    ({"prompt": "x", "echo": True}, "echo"),
    ({"prompt": "x", "logprobs": 2}, "logprobs"),
    ({"prompt": "x", "best_of": 3}, "best_of"),
    ({"prompt": "x", "suffix": "end"}, "suffix"),
    ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
])
def test_what_chat_cannot_serve_is_a_400_naming_it(api: RunningGateway,
                                                   fields: dict[str, object], param: str) -> None:
    r = httpx.post(f"{api.base_url}/completions", headers={"authorization": f"Bearer {api.key}"},
                   json={"model": "gpt-4o-mini", **fields})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_budget_and_model_errors_in_openai_shape(api: RunningGateway) -> None:
    with pytest.raises(openai.RateLimitError):
        client(api, BROKE_KEY).completions.create(model="gpt-4o", prompt="Hi")
    with pytest.raises(openai.NotFoundError) as missing:
        client(api).completions.create(model="gpt-9", prompt="Hi")
    assert missing.value.code == "model_not_found"
