"""Unrecorded prompts get deterministic synthetic answers with honest token counts."""

from __future__ import annotations

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.simulator import SimulatorConfig, create_simulator_app
from gateway.simulator.answers import truncate_to_tokens
from gateway.simulator.synthetic import synthetic_answer
from pricing import PriceCatalog, TokenizerRegistry
from pricing.tokenizers import HeuristicTokenizer
from tests.gateway.simulator.helpers import MIXTRAL, chat_body, user

PROMPT = "Explain why the sky over a volcano glows orange at night."


def ask(client: openai.OpenAI, model: str, prompt: str = PROMPT) -> str:
    reply = client.chat.completions.create(model=model, messages=user(prompt))
    return reply.choices[0].message.content or ""


def test_same_model_and_prompt_give_the_same_answer(client: openai.OpenAI) -> None:
    first = ask(client, "gpt-4o")
    assert first
    assert ask(client, "gpt-4o") == first


def test_answers_differ_between_models_and_prompts(client: openai.OpenAI) -> None:
    answers = {
        ask(client, "gpt-4o"),
        ask(client, "gpt-4o-mini"),
        ask(client, "smollm2-135m-instruct"),
        ask(client, "gpt-4o", PROMPT + " Briefly."),
    }
    assert len(answers) == 4


async def test_the_seed_changes_synthetic_answers(tokenizers: TokenizerRegistry) -> None:
    async def answer(seed: int) -> str:
        app = create_simulator_app(
            SimulatorConfig(latency_scale=0, seed=seed, tokenizers=tokenizers)
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            reply = await http.post("/v1/chat/completions", json=chat_body("gpt-4o", PROMPT))
        content: str = reply.json()["choices"][0]["message"]["content"]
        return content

    assert await answer(1) == await answer(1)
    assert await answer(1) != await answer(2)


def test_synthetic_usage_is_honest(http: httpx.Client, tokenizers: TokenizerRegistry) -> None:
    for model in ("gpt-4o", MIXTRAL, "smollm2-135m-instruct"):
        body = http.post("/chat/completions", json=chat_body(model, PROMPT)).json()
        tokenizer = tokenizers.get(PriceCatalog.shipped()[model].tokenizer)
        content = body["choices"][0]["message"]["content"]
        assert body["usage"]["completion_tokens"] == tokenizer.count(content) > 0


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_finish_reason_length(
    http: httpx.Client, tokenizers: TokenizerRegistry, field: str
) -> None:
    full = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT)).json()
    cut = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT, **{field: 7})).json()
    text = cut["choices"][0]["message"]["content"]
    assert cut["choices"][0]["finish_reason"] == "length"
    assert full["choices"][0]["message"]["content"].startswith(text)
    assert cut["usage"]["completion_tokens"] == tokenizers.get("o200k_base").count(text) <= 7
    assert cut["usage"]["completion_tokens"] >= 6  # a prefix, not an empty answer


def test_a_generous_max_tokens_changes_nothing(http: httpx.Client) -> None:
    full = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT)).json()
    roomy = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT, max_tokens=4000)).json()
    assert roomy["choices"][0] == full["choices"][0]


def test_stop_sequences_end_the_answer_before_them(http: httpx.Client) -> None:
    full = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT)).json()
    text = full["choices"][0]["message"]["content"]
    stop = text.split()[3]
    cut = http.post("/chat/completions", json=chat_body("gpt-4o", PROMPT, stop=[stop])).json()
    assert cut["choices"][0]["message"]["content"] == text[: text.index(stop)]
    assert cut["choices"][0]["finish_reason"] == "stop"


@given(
    st.text(max_size=300),
    st.sampled_from(["gpt-4o", "m"]),
    st.integers(0, 5),
    st.integers(1, 50),
    st.integers(0, 60),
)
@settings(max_examples=50, deadline=None)
def test_synthetic_answers_stay_in_their_word_range(
    prompt: str, model: str, seed: int, low: int, extra: int
) -> None:
    text = synthetic_answer(model, prompt, seed, (low, low + extra))
    assert low <= len(text.split()) <= low + extra
    assert text == synthetic_answer(model, prompt, seed, (low, low + extra))


@given(st.text(max_size=400), st.integers(1, 40))
@settings(max_examples=60, deadline=None)
def test_truncation_gives_the_longest_prefix_within_the_limit(text: str, limit: int) -> None:
    tokenizer = HeuristicTokenizer()
    cut = truncate_to_tokens(tokenizer, text, limit)
    assert text.startswith(cut)
    assert tokenizer.count(cut) <= limit
    if cut != text:
        assert tokenizer.count(text[: len(cut) + 1]) > limit
