"""The embedded text: final question of few-shot prompts, last user turn of chats."""

from __future__ import annotations

from routers.datasets.text import (
    embedding_text,
    messages_embedding_text,
    normalise,
    text_hash,
)

MMLU_5_SHOT = (
    "The following are multiple choice questions (with answers) about anatomy.\n\n"
    + "".join(
        f"Example question {i}?\nA. one\nB. two\nC. three\nD. four\nAnswer: B\n\n"
        for i in range(5)
    )
    + "Which bone is the longest?\nA. Femur\nB. Tibia\nC. Ulna\nD. Radius\nAnswer:"
)

HEADLINES = (
    "Please determine the price direction.\n\n"
    "Q: gold down $1 at $749\nA: down\n\nQ: gold up $7.60\nA: up\n\n"
    "Q: gold futures end the week 1.4% higher\nA:"
)


def test_five_shot_mmlu_embeds_the_final_question() -> None:
    text = embedding_text(MMLU_5_SHOT)
    assert text.startswith("Which bone is the longest?")
    assert "Example question" not in text and text.endswith("Answer:")


def test_qa_few_shot_embeds_the_final_query() -> None:
    assert embedding_text(HEADLINES) == "Q: gold futures end the week 1.4% higher\nA:"


def test_zero_shot_prompt_is_unchanged() -> None:
    prompt = "Which bone is the longest?\nA. Femur\nB. Tibia\nAnswer:"
    assert embedding_text(prompt) == prompt
    assert embedding_text("Tell me a joke") == "Tell me a joke"


def test_chat_puts_last_user_turn_first_and_skips_system() -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is a prime number?"},
        {"role": "assistant", "content": "A number with exactly two divisors."},
        {"role": "user", "content": [{"type": "text", "text": "Is 91 prime?"}]},
    ]
    text = messages_embedding_text(messages)
    assert text.split("\n")[0] == "Is 91 prime?"
    assert "two divisors" in text and "What is a prime" in text
    assert "helpful assistant" not in text


def test_chat_context_is_truncated() -> None:
    long_turn = "x" * 5000
    messages = [
        {"role": "user", "content": long_turn},
        {"role": "assistant", "content": long_turn},
        {"role": "user", "content": "short question"},
    ]
    assert len(messages_embedding_text(messages)) < 1100


def test_normal_form_and_hash_ignore_case_and_spacing() -> None:
    assert normalise("  Hello\n\tWORLD ") == "hello world"
    assert text_hash("Hello  world") == text_hash("hello world")
    assert text_hash("hello world") != text_hash("hello there")


def test_letter_on_the_next_line_counts_as_an_answered_example() -> None:
    # RouterBench ARC / Winogrande shots: "Answer:" then the letter alone on the next line.
    arc = ("Q one?\nA) x\nB) y\nAnswer:\nA\n\nQ two? Print one letter. Answer:\nB\n\n"
           "Q three?\nA) x\nB) y\nAnswer:")
    assert embedding_text(arc) == "Q three?\nA) x\nB) y\nAnswer:"
