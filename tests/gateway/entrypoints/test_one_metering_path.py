"""Every API is metered by one path: the spend total equals the sum of what each call said
it cost, across chat, responses, messages and embeddings, streams included."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.gateway.conftest import RunningGateway

PROMPT = "Name three primary colours."


def test_spend_total_equals_the_sum_of_reported_costs(api: RunningGateway) -> None:
    oai = openai.OpenAI(base_url=api.base_url, api_key=api.key, max_retries=0)
    ant = anthropic.Anthropic(base_url=api.root_url, api_key=api.key, max_retries=0)
    costs: list[float] = []

    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}])
    costs.append(float(raw.headers["x-costroute-cost-usd"]))
    chunks = list(oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], stream=True,
        stream_options={"include_usage": True}))
    costs.append(chunks[-1].model_extra["x_costroute"]["cost_usd"])  # type: ignore[index]

    raw_r = oai.responses.with_raw_response.create(model="auto", input=PROMPT)
    costs.append(float(raw_r.headers["x-costroute-cost-usd"]))
    events = list(oai.responses.create(model="gpt-4o-mini", input=PROMPT, stream=True))
    costs.append(events[-1].model_extra["x_costroute"]["cost_usd"])  # type: ignore[index]

    raw_m = ant.messages.with_raw_response.create(
        model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": PROMPT}])
    costs.append(float(raw_m.headers["x-costroute-cost-usd"]))
    with ant.messages.stream(model="router:cheapest", max_tokens=100,
                             messages=[{"role": "user", "content": PROMPT}]) as stream:
        delta = next(e for e in stream if e.type == "message_delta")
        list(stream)
    costs.append(delta.model_extra["x_costroute"]["cost_usd"])  # type: ignore[index]

    raw_e = oai.embeddings.with_raw_response.create(model="text-embedding-3-large",
                                                    input=[PROMPT, PROMPT])
    costs.append(float(raw_e.headers["x-costroute-cost-usd"]))

    ant.messages.count_tokens(model="gpt-4o", messages=[{"role": "user", "content": PROMPT}])

    spend = httpx.get(f"{api.root_url}/v1/costroute/spend?by=model",
                      headers={"authorization": f"Bearer {api.key}"}).json()
    assert spend["total"]["requests"] == len(costs)  # count_tokens is not billed
    assert all(c > 0 for c in costs)
    assert spend["total"]["cost_usd"] == pytest.approx(sum(costs), abs=1e-7)
    assert "text-embedding-3-large" in {row["model"] for row in spend["rows"]}
