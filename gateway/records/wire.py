"""Wire models of `POST /v1/costroute/feedback` (the logic is in gateway/records/feedback.py)."""

from __future__ import annotations

import math

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
)

METRIC_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class FeedbackRequest(BaseModel):
    """A client's rating of one answer: `score` in [0, 1], or true/false (1/0)."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=128)
    score: StrictBool | StrictInt | StrictFloat = Field(json_schema_extra={"anyOf": [
        {"type": "boolean"}, {"type": "number", "minimum": 0, "maximum": 1}]})
    metric: str = Field(default="default", pattern=METRIC_PATTERN)
    comment: str | None = Field(default=None, max_length=4000)
    # Optional check: the model the client believes answered; it must be the one that did.
    model: str | None = Field(default=None, min_length=1, max_length=256)

    @field_validator("score")
    @classmethod
    def _in_range(cls, score: bool | float) -> bool | int | float:
        if isinstance(score, bool):
            return score
        if not math.isfinite(score) or not 0 <= score <= 1:
            raise ValueError("must be between 0 and 1")
        return score

    @property
    def value(self) -> float:
        return float(self.score)


class FeedbackResponse(BaseModel):
    request_id: str
    metric: str
    score: float
    model: str
    status: str = "recorded"
