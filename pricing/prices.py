"""One model's price sheet."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ModelPrice(BaseModel):
    """USD prices and limits of one model, as a provider lists them.

    `cached_input_per_mtok` is the rate of prompt tokens served from the provider's cache
    (None: the provider has no cache discount, they cost `input_per_mtok`).
    `cache_write_per_mtok` is what a provider charges for writing the cache (Anthropic:
    1.25x input); None means writes cost the plain input rate.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    cache_write_per_mtok: float | None = Field(default=None, ge=0)
    per_request_usd: float = Field(default=0.0, ge=0)
    context_window: int = Field(default=128_000, gt=0)
    max_output_tokens: int = Field(default=4_096, gt=0)
    tokenizer: str = "o200k_base"
    price_date: str = "unknown"
    provider: str = "unknown"
    source: str = ""
    # What the model can serve (gateway/capabilities.py filters candidates on these). A
    # capability not declared false is assumed: entries list only what a model lacks.
    mode: Literal["chat", "embedding"] = "chat"
    supports_tools: bool = True
    supports_vision: bool = True
    supports_json_schema: bool = True
    # OpenAI's image tile formula (pricing/images.py); None: images are not billed by tiles.
    image_base_tokens: int | None = Field(default=None, ge=0)
    image_tile_tokens: int | None = Field(default=None, ge=0)

    @field_validator("price_date", mode="before")
    @classmethod
    def _iso_date_or_unknown(cls, value: object) -> object:
        # YAML reads an unquoted 2025-06-01 as a date; accept it as the text it was.
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str) and value != "unknown":
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError("price_date must be YYYY-MM-DD or 'unknown'") from None
        return value

    @property
    def cached_rate(self) -> float:
        """USD per 1M prompt tokens read from the provider's cache."""
        if self.cached_input_per_mtok is None:
            return self.input_per_mtok
        return self.cached_input_per_mtok

    @property
    def cache_write_rate(self) -> float:
        """USD per 1M prompt tokens written to the provider's cache."""
        if self.cache_write_per_mtok is None:
            return self.input_per_mtok
        return self.cache_write_per_mtok
