"""End to end over loopback: client → gateway → {simulated remote, REAL SmolLM2 via llama.cpp}.

The remote (`gpt-4o` in the upstream simulator) is scripted to follow the protocol; the local
worker is SmolLM2-135M-Instruct actually reading the document. What is checked is the
mechanics — rounds, parallel local jobs, the cost split in headers, streaming, and that the
document never reaches the remote. A 135M model cannot show answer quality, so nothing here
asserts what it answered.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import (  # noqa: F401  (fixtures used by name)
    GatewayFactory,
    RunningGateway,
    _clean_simulator,
    gateway_factory,
    sim,
    sim_config,
)
from tests.localmodel import MODEL_ALIAS, local_model  # noqa: F401
from tests.routers.minions.documents import filler_sentences, planted_document

pytestmark = [pytest.mark.localmodel, pytest.mark.slow]

REMOTE = "gpt-4o"
FACT = "The vault access code is 4821."
DOC = planted_document(6, {3: FACT}, sections=("Logistics", "Security"))
QUESTION = "What is the vault access code?"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": DOC},
                                              {"role": "user", "content": QUESTION}]


def config(handle: SimulatorHandle, local_url: str) -> dict[str, Any]:
    pool = [REMOTE, MODEL_ALIAS]
    common = {"local_model": MODEL_ALIAS, "remote_model": REMOTE, "local_max_tokens": 48}
    return sim_config(
        handle,
        models=[
            {"name": REMOTE, "upstream": {"base_url": handle.base_url}, "tier": "remote"},
            {"name": MODEL_ALIAS, "tier": "local",
             "upstream": {"base_url": local_url,
                          "timeout": {"first_byte_s": 900, "total_s": 1200}}},
        ],
        routes={
            "router:minions": {"router": "minions", "models": pool, "options": {
                **common, "max_rounds": 2, "max_parallel": 2, "chunk_tokens": 70,
                "overlap_tokens": 0}},
            "router:minion": {"router": "minion", "models": pool, "options": {
                **common, "max_rounds": 1}},
        },
    )


def client(gw: RunningGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=1800)


def remote_bodies(handle: SimulatorHandle) -> list[str]:
    recent = handle.control.stats()["recent"]
    return [json.dumps(r["body"]["messages"]) for r in recent if r["model"] == REMOTE]


def assert_document_stayed_local(handle: SimulatorHandle) -> None:
    bodies = "\n".join(remote_bodies(handle))
    assert not any(sentence in bodies for sentence in filler_sentences(6))


def test_minions_rounds_parallel_jobs_and_cost_split(
        sim: SimulatorHandle, local_model: str,  # noqa: F811
        gateway_factory: GatewayFactory) -> None:  # noqa: F811
    gw = gateway_factory(config(sim, local_model))
    sim.control.script(REMOTE, [
        json.dumps({"tasks": [{"instructions": "Find the vault access code.",
                               "chunks": "all"}]}),
        json.dumps({"decision": "request_additional_info", "feedback": "confirm the code",
                    "tasks": [{"instructions": "Quote the access code.",
                               "keywords": ["vault"]}]}),
        json.dumps({"decision": "provide_final_answer", "answer": "The code is 4821."}),
    ])
    raw = client(gw).chat.completions.with_raw_response.create(
        model="router:minions", messages=MESSAGES, stream=True,
        stream_options={"include_usage": True})
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The code is 4821."
    headers = raw.headers
    assert headers["x-costroute-route"].startswith("router:minions: minions: 2 round(s)")
    remote_calls = sim.control.requests(REMOTE)
    assert remote_calls == 3
    stages = int(headers["x-costroute-stages"])
    local_jobs = stages - remote_calls
    assert local_jobs >= 4  # ≥ 3 chunks in round 1, ≥ 1 keyword job in round 2
    assert float(headers["x-costroute-remote-cost-usd"]) > 0
    assert float(headers["x-costroute-local-cost-usd"]) == 0
    assert int(headers["x-costroute-local-tokens"]) > 0
    usage = chunks[-1].usage
    assert usage is not None and usage.total_tokens == (
        int(headers["x-costroute-local-tokens"]) + int(headers["x-costroute-remote-tokens"]))
    bodies = remote_bodies(sim)
    assert "Worker results of round 1" in bodies[1]
    assert "Worker results of the last round" in bodies[2]
    assert_document_stayed_local(sim)


def test_minion_chat_round_and_cost_split(
        sim: SimulatorHandle, local_model: str,  # noqa: F811
        gateway_factory: GatewayFactory) -> None:  # noqa: F811
    gw = gateway_factory(config(sim, local_model))
    sim.control.script(REMOTE, [
        json.dumps({"decision": "request_additional_info",
                    "message": "What is the vault access code?"}),
        json.dumps({"decision": "provide_final_answer", "answer": "4821"}),
    ])
    raw = client(gw).chat.completions.with_raw_response.create(
        model="router:minion", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "4821"
    assert raw.headers["x-costroute-stages"] == "3"
    assert sim.control.requests(REMOTE) == 2
    bodies = remote_bodies(sim)
    assert "That was your last question" in bodies[1]  # max_rounds=1 forced the answer
    assert float(raw.headers["x-costroute-local-cost-usd"]) == 0
    assert int(raw.headers["x-costroute-local-tokens"]) > 0
    assert_document_stayed_local(sim)
