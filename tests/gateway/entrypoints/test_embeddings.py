"""`/v1/embeddings` through the gateway with the official openai client, over loopback."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from gateway.simulator.server import SimulatorHandle
from pricing import PriceCatalog, Usage, cost_usd
from tests.gateway.conftest import RunningGateway
from tests.gateway.entrypoints.conftest import BROKE_KEY


def client(gw: RunningGateway, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=key or gw.key, max_retries=0)


def test_sync_embeddings_priced_by_input_tokens(api: RunningGateway) -> None:
    raw = client(api).embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["hello world", "a second text"])
    result = raw.parse()
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 1536
    assert result.usage.prompt_tokens > 0
    expected = cost_usd(PriceCatalog.shipped()["text-embedding-3-small"],
                        Usage(result.usage.prompt_tokens, 0))
    assert float(raw.headers["x-costroute-cost-usd"]) == pytest.approx(expected, abs=1e-12)
    assert raw.headers["x-costroute-model"] == "text-embedding-3-small"
    assert raw.headers["x-costroute-cost-status"] == "actual"


def test_vectors_are_deterministic_and_dimensions_honoured(api: RunningGateway) -> None:
    one = client(api).embeddings.create(model="text-embedding-3-large", input="same text",
                                        dimensions=64, encoding_format="float")
    two = client(api).embeddings.create(model="text-embedding-3-large", input="same text",
                                        dimensions=64)
    assert len(one.data[0].embedding) == 64
    assert one.data[0].embedding == pytest.approx(two.data[0].embedding, abs=1e-6)


def test_async_embeddings(api: RunningGateway) -> None:
    async def run() -> int:
        async with openai.AsyncOpenAI(base_url=api.base_url, api_key=api.key,
                                      max_retries=0) as aclient:
            result = await aclient.embeddings.create(model="text-embedding-3-small",
                                                     input=[[1, 2, 3], [4, 5]])
            return result.usage.prompt_tokens

    assert asyncio.run(run()) == 5


def test_chat_model_or_alias_is_a_clear_400(api: RunningGateway) -> None:
    for model in ("gpt-4o", "auto"):
        with pytest.raises(openai.BadRequestError) as info:
            client(api).embeddings.create(model=model, input="x")
        assert "not an embedding model" in info.value.message
        assert info.value.body["code"] == "model_not_embedding"  # type: ignore[index]


@pytest.mark.parametrize("body", [{"model": "text-embedding-3-small"},
                                  {"model": "text-embedding-3-small", "input": []},
                                  {"model": "text-embedding-3-small", "input": [""]},
                                  {"model": "text-embedding-3-small", "input": 5},
                                  {"model": "text-embedding-3-small", "input": "x",
                                   "dimensions": 0}])
def test_bad_input_is_400_in_openai_shape(api: RunningGateway, body: dict[str, object]) -> None:
    r = httpx.post(f"{api.base_url}/embeddings", json=body,
                   headers={"authorization": f"Bearer {api.key}"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_budget_refusal_is_429(api: RunningGateway) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client(api, BROKE_KEY).embeddings.create(model="text-embedding-3-small", input="x")
    assert info.value.body["code"] == "budget_exceeded"  # type: ignore[index]


def test_upstream_failure_falls_back_and_is_not_billed(api: RunningGateway,
                                                       sim: SimulatorHandle) -> None:
    sim.control.inject_fault("text-embedding-3-small", "http_500", count=5)
    with pytest.raises(openai.InternalServerError):
        client(api).embeddings.create(model="text-embedding-3-small", input="x")
    spend = httpx.get(f"{api.root_url}/v1/costroute/spend",
                      headers={"authorization": f"Bearer {api.key}"}).json()
    assert spend["total"]["requests"] == 0


def test_spend_reports_embeddings_by_model(api: RunningGateway) -> None:
    raw = client(api).embeddings.with_raw_response.create(model="text-embedding-3-small",
                                                          input="count me")
    spend = httpx.get(f"{api.root_url}/v1/costroute/spend?by=model",
                      headers={"authorization": f"Bearer {api.key}"}).json()
    rows = {r["model"]: r for r in spend["rows"]}
    assert rows["text-embedding-3-small"]["cost_usd"] == pytest.approx(
        float(raw.headers["x-costroute-cost-usd"]), abs=1e-9)
