"""Wire model of OpenAI's legacy `POST /v1/completions` (text completions). No logic.

`prompt` stays loose here: token arrays and batches get an error naming them where the
request is translated (completions_translate.py), not pydantic's generic one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.protocol import MAX_N, MAX_TOKENS_CEILING

# OpenAI's default for this endpoint (chat has none): a request without max_tokens gets 16.
DEFAULT_MAX_TOKENS = 16


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256)
    prompt: Any = None
    max_tokens: int | None = Field(default=DEFAULT_MAX_TOKENS, ge=1, le=MAX_TOKENS_CEILING)
    n: int | None = Field(default=None, ge=1, le=MAX_N)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool | None = False
    stream_options: dict[str, Any] | None = None
    stop: str | list[str] | None = None
    echo: bool | None = False
    logprobs: int | None = None
    best_of: int | None = Field(default=None, ge=1)
    suffix: str | None = None
