"""The shared OpenAI schema helper accepts OpenAI's own examples and rejects near misses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.openai_schema import assert_sse_stream, openai_schemas, without_nullable

CHUNK: dict[str, Any] = {
    "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "logprobs": None,
                 "finish_reason": None}],
}


def test_nullable_becomes_any_of_null() -> None:
    converted = without_nullable({"type": "string", "enum": ["a"], "nullable": True})
    assert converted == {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "null"}]}


def test_a_chunk_with_null_finish_reason_and_usage_is_valid() -> None:
    chunk = {**CHUNK, "usage": None}
    assert openai_schemas().errors(chunk, "CreateChatCompletionStreamResponse") == []


@pytest.mark.parametrize(
    "broken",
    [
        {**CHUNK, "object": "chat.completion"},
        {**CHUNK, "choices": [{**CHUNK["choices"][0], "finish_reason": "done"}]},
        {k: v for k, v in CHUNK.items() if k != "created"},
        {**CHUNK, "usage": {"prompt_tokens": 1}},
    ],
)
def test_near_misses_are_reported(broken: dict[str, Any]) -> None:
    assert openai_schemas().errors(broken, "CreateChatCompletionStreamResponse")


def test_vllm_integer_error_codes_are_not_openai_errors() -> None:
    vllm = {"error": {"message": "x", "type": "BadRequestError", "param": None, "code": 400}}
    assert openai_schemas().errors(vllm, "ErrorResponse")


def test_sse_streams_must_end_with_done() -> None:
    body = f"data: {json.dumps(CHUNK)}\n\n"
    with pytest.raises(AssertionError, match=r"\[DONE\]"):
        assert_sse_stream(body)
    assert len(assert_sse_stream(body + "data: [DONE]\n\n")) == 1
