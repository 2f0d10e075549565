"""One model's price sheet."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelPrice(BaseModel):
    """USD prices and limits of one model, as a provider lists them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    per_request_usd: float = Field(default=0.0, ge=0)
    context_window: int = Field(default=128_000, gt=0)
    max_output_tokens: int = Field(default=4_096, gt=0)
    tokenizer: str = "o200k_base"
    price_date: str = "unknown"
    provider: str = "unknown"
