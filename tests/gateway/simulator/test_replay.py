"""Recorded prompts replay the recorded model's answer, billed with that model's tokenizer."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from gateway.simulator import SimulatorHandle
from pricing import PriceCatalog, TokenizerRegistry, count_messages
from tests.gateway.simulator.helpers import GPT4, MIXTRAL, source_rows, user
from tests.openai_schema import assert_openai


def shipped_prompts() -> list[str]:
    blob = resources.files("gateway.simulator").joinpath("data/gsm8k_recordings.jsonl.gz")
    return [json.loads(line)["prompt"] for line in gzip.decompress(blob.read_bytes()).splitlines()]


@pytest.mark.parametrize(
    ("model", "recorded_as"),
    [(GPT4, GPT4), (MIXTRAL, MIXTRAL), ("gpt-4o", GPT4), ("gpt-4o-mini", MIXTRAL)],
)
def test_recorded_prompt_gets_the_recorded_answer(
    client: openai.OpenAI, gsm8k_dir: Path, model: str, recorded_as: str
) -> None:
    rows = source_rows(gsm8k_dir)
    for prompt in shipped_prompts()[:3]:
        reply = client.chat.completions.create(model=model, messages=user(prompt))
        assert reply.choices[0].message.content == rows[prompt][f"{recorded_as}_response"].strip()
        assert reply.choices[0].finish_reason == "stop"
        assert reply.model == model


def test_prompt_matching_ignores_case_spacing_and_quote_style(
    client: openai.OpenAI, gsm8k_dir: Path
) -> None:
    prompt = next(p for p in shipped_prompts() if "'" in p or "’" in p)
    variant = "  " + prompt.upper().replace("'", "’").replace(" ", "\n  ") + "\n"
    reply = client.chat.completions.create(model=GPT4, messages=user(variant))
    assert reply.choices[0].message.content == source_rows(gsm8k_dir)[prompt][
        f"{GPT4}_response"
    ].strip()


def test_the_last_user_message_is_the_prompt(client: openai.OpenAI, gsm8k_dir: Path) -> None:
    prompt = shipped_prompts()[5]
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You are a careful math tutor."},
        {"role": "user", "content": "Warm-up question, ignore."},
        {"role": "assistant", "content": "OK."},
        {"role": "user", "content": [{"type": "text", "text": prompt}]},
    ]
    reply = client.chat.completions.create(model=MIXTRAL, messages=messages)
    assert reply.choices[0].message.content == source_rows(gsm8k_dir)[prompt][
        f"{MIXTRAL}_response"
    ].strip()


@pytest.mark.parametrize("model", ["gpt-4o", GPT4, MIXTRAL])
def test_usage_is_counted_with_the_models_own_tokenizer(
    http: httpx.Client, tokenizers: TokenizerRegistry, model: str
) -> None:
    messages = user(shipped_prompts()[0])
    body = http.post("/chat/completions", json={"model": model, "messages": messages}).json()
    assert_openai(body, "CreateChatCompletionResponse")
    tokenizer = tokenizers.get(PriceCatalog.shipped()[model].tokenizer)
    usage = body["usage"]
    assert usage["prompt_tokens"] == count_messages(tokenizer, messages)
    assert usage["completion_tokens"] == tokenizer.count(body["choices"][0]["message"]["content"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_response_says_it_comes_from_the_simulator(http: httpx.Client) -> None:
    body = http.post("/chat/completions", json={"model": GPT4, "messages": user("hi")}).json()
    assert body["system_fingerprint"] == "costroute-simulator"
    assert body["id"].startswith("chatcmpl-")


def test_stats_count_requests_per_model(simulator: SimulatorHandle, client: openai.OpenAI) -> None:
    for model in ("gpt-4o", "gpt-4o", MIXTRAL):
        client.chat.completions.create(model=model, messages=user("count me"))
    stats = simulator.control.stats()
    assert stats["requests"] == {"gpt-4o": 2, MIXTRAL: 1}
    assert stats["total"] == 3
    assert [r["model"] for r in stats["recent"]] == ["gpt-4o", "gpt-4o", MIXTRAL]
    assert stats["recent"][0]["body"]["messages"] == user("count me")
    assert stats["recent"][0]["authorization"] is True
