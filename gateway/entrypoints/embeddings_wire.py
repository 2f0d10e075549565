"""Wire model of OpenAI's `POST /v1/embeddings` request. No logic here."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_INPUTS = 2048


class EmbeddingRequest(BaseModel):
    # Other fields pass through to the upstream untouched, as in chat.
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256)
    input: (str | list[int] | list[list[int]] | list[str])
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1, le=65_536)
    user: str | None = None

    def items(self) -> list[str | list[int]]:
        """The inputs as a list: texts or token arrays."""
        value = self.input
        if isinstance(value, str):
            return [value]
        if value and all(isinstance(v, int) for v in value):
            return [value]  # type: ignore[list-item]
        return list(value)  # type: ignore[arg-type]
