"""The simulator's `POST /v1/embeddings`: deterministic unit vectors, billed by input tokens.

A vector is a pure function of (model, input, dimensions), so the same text always embeds
the same way and tests can compare vectors across calls. It carries no meaning: it is a
stand-in for a provider's embedding, in the provider's wire format.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Sequence
from typing import Any

import orjson

from gateway.simulator.errors import BadRequest

MAX_INPUTS = 2048


def parse_embedding_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("you must provide a model parameter", param="model")
    return body


def inputs_of(body: dict[str, Any]) -> list[str | list[int]]:
    """The request's inputs as a list of texts or token arrays, validated as OpenAI does."""
    value = body.get("input")
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        items = [value]
    elif isinstance(value, list) and value:
        items = value
    else:
        raise BadRequest("'input' must be a non-empty string or array", param="input")
    if len(items) > MAX_INPUTS:
        raise BadRequest(f"'input' may hold at most {MAX_INPUTS} items", param="input")
    for item in items:
        text_ok = isinstance(item, str) and item != ""
        tokens_ok = isinstance(item, list) and bool(item) and all(isinstance(t, int)
                                                                  for t in item)
        if not (text_ok or tokens_ok):
            raise BadRequest("each input must be a non-empty string or token array",
                             param="input")
    return items


def vector(model: str, item: str | Sequence[int], dimensions: int) -> list[float]:
    """A deterministic unit vector for `item` (a SHA-256 stream mapped to [-1, 1])."""
    seed = orjson.dumps([model, item])
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        block = hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        values.extend(b / 127.5 - 1.0 for b in block)
        counter += 1
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def encode(values: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    return values


def embeddings_body(model: str, vectors: list[list[float]], encoding_format: str,
                    prompt_tokens: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": encode(v, encoding_format)}
                 for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
