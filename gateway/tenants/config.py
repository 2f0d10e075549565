"""Tenant configuration: who may call, with which models, under which budgets and policy."""

from __future__ import annotations

import fnmatch
import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routers.base import Objective, Policy


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class BudgetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Literal["day", "month", "total"] = "month"
    limit_usd: float = Field(ge=0)
    alert_fraction: float = Field(default=0.8, ge=0, le=1)


class RateLimitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)


class PolicyConfig(BaseModel):
    """The tenant's default route (used when it sends `model: auto`) and its knob."""

    model_config = ConfigDict(extra="forbid")

    route: str = "auto"
    objective: Objective = "max_utility"
    knob: float = 0.0

    def to_policy(self) -> Policy:
        return Policy(objective=self.objective, knob=self.knob)


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    key_sha256: list[str] = Field(default_factory=list)
    admin: bool = False
    budgets: list[BudgetConfig] = Field(default_factory=list)
    max_cost_per_request_usd: float | None = Field(default=None, ge=0)
    allowed_models: list[str] = Field(default_factory=lambda: ["*"])
    allowed_routes: list[str] = Field(default_factory=lambda: ["*"])
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    rate_limits: RateLimitConfig = Field(default_factory=RateLimitConfig)
    timezone: str = "UTC"

    def may_use_model(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, pattern) for pattern in self.allowed_models)

    def may_use_route(self, route: str) -> bool:
        return any(fnmatch.fnmatchcase(route, pattern) for pattern in self.allowed_routes)
