"""Chat framing: OpenAI's per-message overhead reproduces the API's own prompt counts."""

from __future__ import annotations

import pytest

from pricing.tokenizers import TokenizerRegistry, count_messages

# The cookbook's example conversation ("How to count tokens with tiktoken", section 6) and
# the prompt_tokens the OpenAI API reported for it: 129 on gpt-3.5-turbo / gpt-4
# (cl100k_base), 124 on gpt-4o / gpt-4o-mini (o200k_base).
EXAMPLE_MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that "
                                  "translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user",
     "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant",
     "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user",
     "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
                "for increased leverage."},
    {"role": "system", "name": "example_assistant",
     "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean "
                                "for the client deliverable."},
]


@pytest.mark.parametrize("tokenizer, api_count", [("cl100k_base", 129), ("o200k_base", 124)])
def test_cookbook_conversation(registry: TokenizerRegistry, tokenizer: str,
                               api_count: int) -> None:
    assert count_messages(registry.get(tokenizer), EXAMPLE_MESSAGES) == api_count


def test_content_parts_are_counted_like_a_string(registry: TokenizerRegistry) -> None:
    counter = registry.get("o200k_base")
    as_text = [{"role": "user", "content": "Hello there, general Kenobi"}]
    as_parts = [{"role": "user", "content": [{"type": "text", "text": "Hello there, "},
                                             {"type": "text", "text": "general Kenobi"}]}]
    assert count_messages(counter, as_parts) == count_messages(counter, as_text)


def test_empty_conversation_costs_the_reply_priming(registry: TokenizerRegistry) -> None:
    assert count_messages(registry.get("o200k_base"), []) == 3


def test_null_content_is_allowed(registry: TokenizerRegistry) -> None:
    counter = registry.get("o200k_base")
    assert count_messages(counter, [{"role": "assistant", "content": None}]) == 3 + 3 + 1
