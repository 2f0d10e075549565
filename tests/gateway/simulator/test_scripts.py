"""Scripted answers: exact contents per model, in order, then normal answering resumes."""

from __future__ import annotations

import httpx
import openai
import pytest

from gateway.simulator import SimulatorControlError, SimulatorHandle
from pricing import TokenizerRegistry
from tests.gateway.simulator.helpers import chat_body, user
from tests.openai_schema import assert_sse_stream

MODEL = "smollm2-135m-instruct"
PROMPT = "Summarise the plan in one line."


def ask(client: openai.OpenAI, model: str = MODEL) -> str:
    reply = client.chat.completions.create(model=model, messages=user(PROMPT))
    return reply.choices[0].message.content or ""


def test_scripted_answers_come_in_order_then_normal_resumes(
    simulator: SimulatorHandle, client: openai.OpenAI
) -> None:
    normal = ask(client)
    simulator.control.script(MODEL, ["FIRST: decompose the task", "SECOND: {\"answer\": 42}"])
    assert ask(client, "gpt-4o") != "FIRST: decompose the task"  # other models unaffected
    assert ask(client) == "FIRST: decompose the task"
    assert ask(client) == "SECOND: {\"answer\": 42}"
    assert ask(client) == normal
    assert [r["source"] for r in simulator.control.stats()["recent"]] == [
        "synthetic", "synthetic", "script", "script", "synthetic"
    ]


def test_scripted_answers_are_billed_honestly(
    simulator: SimulatorHandle, http: httpx.Client, tokenizers: TokenizerRegistry
) -> None:
    text = "Réponse scriptée: 3 étapes, puis fin."
    simulator.control.script("gpt-4o", [text])
    body = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT)).json()
    assert body["choices"][0]["message"]["content"] == text
    assert body["usage"]["completion_tokens"] == tokenizers.get("o200k_base").count(text)


def test_scripted_answers_stream_exactly(simulator: SimulatorHandle, http: httpx.Client) -> None:
    text = "line one\n\n  line two\tends here "
    simulator.control.script(MODEL, [text])
    raw = http.post("/chat/completions", json=chat_body(MODEL, PROMPT, stream=True)).text
    chunks = assert_sse_stream(raw)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == text


def test_scripts_respect_max_tokens(simulator: SimulatorHandle, http: httpx.Client) -> None:
    simulator.control.script(MODEL, ["word " * 100])
    body = http.post("/chat/completions", json=chat_body(MODEL, PROMPT, max_tokens=3)).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] <= 3


def test_a_faulted_request_does_not_consume_the_script(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    simulator.control.script(MODEL, ["kept for later"])
    simulator.control.inject_fault(MODEL, "http_500")
    assert http.post("/chat/completions", json=chat_body(MODEL, PROMPT)).status_code == 500
    body = http.post("/chat/completions", json=chat_body(MODEL, PROMPT)).json()
    assert body["choices"][0]["message"]["content"] == "kept for later"


def test_clearing_scripts(simulator: SimulatorHandle, client: openai.OpenAI) -> None:
    normal = ask(client)
    simulator.control.script(MODEL, ["never said"])
    simulator.control.clear_scripts()
    assert ask(client) == normal


@pytest.mark.parametrize(
    "body",
    [{"model": "nope", "responses": ["x"]}, {"model": MODEL, "responses": "x"},
     {"model": MODEL, "responses": [1]}, []],
)
def test_bad_script_requests_are_refused(simulator: SimulatorHandle, body: object) -> None:
    reply = httpx.post(f"{simulator.root_url}/_simulator/script", json=body)
    assert reply.status_code == 400
    assert set(reply.json()["error"]) == {"message", "type", "param", "code"}


def test_control_client_raises_on_refusal(simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="400"):
        simulator.control.script("nope", ["x"])
