"""OpenAI wire bodies: completions, stream chunks and model cards, shaped as OpenAI sends them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gateway.simulator.answers import Answer
from gateway.simulator.config import OWNED_BY, SYSTEM_FINGERPRINT
from gateway.simulator.profiles import ModelProfile
from pricing import Usage

# A fixed "created" date for model cards, so /v1/models is byte-stable across restarts.
MODELS_CREATED = 1_700_000_000


def usage_json(usage: Usage) -> dict[str, Any]:
    """`usage` with the zeroed detail objects OpenAI always includes."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_prompt_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion_body(
    completion_id: str, created: int, model: str, answer: Answer, with_usage: bool = True,
    more: Sequence[Answer] = (),
) -> dict[str, Any]:
    """A non-streaming `chat.completion` object; `more` are choices 1.. (`n` > 1), and
    `answer.usage` is then the whole request's."""
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": index,
                "message": _message(choice),
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            }
            for index, choice in enumerate((answer, *more))
        ],
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if with_usage:
        body["usage"] = usage_json(answer.usage)
    return body


def _message(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None,
                               "annotations": []}
    if answer.tool_calls:
        message = {**message, "content": None, "tool_calls": list(answer.tool_calls)}
    return message


def chunk_body(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    include_usage: bool = False,
    index: int = 0,
) -> dict[str, Any]:
    """One `chat.completion.chunk` with one choice; `usage: null` when usage was asked for."""
    body = _chunk_head(completion_id, created, model)
    body["choices"] = [
        {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    ]
    if include_usage:
        body["usage"] = None
    return body


def usage_chunk_body(completion_id: str, created: int, model: str, usage: Usage) -> dict[str, Any]:
    """The extra last chunk of `include_usage`: no choices, the whole request's usage."""
    body = _chunk_head(completion_id, created, model)
    body["choices"] = []
    body["usage"] = usage_json(usage)
    return body


def _chunk_head(completion_id: str, created: int, model: str) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def model_card(profile: ModelProfile) -> dict[str, Any]:
    """A `/v1/models` entry that says it is simulated, with the price it is billed at."""
    price = profile.price
    return {
        "id": profile.name,
        "object": "model",
        "created": MODELS_CREATED,
        "owned_by": OWNED_BY,
        "costroute": {
            "simulated": True,
            "replays": profile.replays,
            "input_per_mtok": price.input_per_mtok,
            "output_per_mtok": price.output_per_mtok,
            "tokenizer": price.tokenizer,
            "context_window": price.context_window,
            "ttft_s": profile.latency.ttft_s,
            "tokens_per_s": profile.latency.tokens_per_s,
        },
    }


def models_list(profiles: Iterable[ModelProfile]) -> dict[str, Any]:
    return {"object": "list", "data": [model_card(p) for p in profiles]}
