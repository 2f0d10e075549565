"""Tenant configuration: who may call, with which models, under which budgets and policy."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from routers.base import Objective, Policy

# Tenant names become parts of Redis keys and log fields: no spaces, braces or glob chars.
TENANT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def _matches(name: str, patterns: list[str]) -> bool:
    # The default, ["*"], is checked on every request: no glob matching for it.
    if patterns == ["*"]:
        return True
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def hash_key(api_key: str) -> str:
    """The lowercase hex SHA-256 of an API key: the only form a key is ever stored in."""
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


class PacingConfig(BaseModel):
    """How the routing knob tightens as the budget runs out faster than the period.

    `linear`: knob = base + t * (tight_knob - base), where t in [0, 1] is how far the
    remaining budget lags the remaining time (see gateway.tenants.pacing). `tight_knob` is
    the knob to use with nothing left: higher λ or ε, or a lower quality target.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["none", "linear"] = "none"
    tight_knob: float | None = None

    @model_validator(mode="after")
    def _linear_needs_target(self) -> PacingConfig:
        if self.kind == "linear" and self.tight_knob is None:
            raise ValueError("pacing kind 'linear' needs `tight_knob`")
        return self


class TenantCacheConfig(BaseModel):
    """A tenant's opt-in to the semantic cache (the exact cache is gateway-wide)."""

    model_config = ConfigDict(extra="forbid")

    semantic: bool = False
    semantic_threshold: float = Field(default=0.95, gt=0, le=1)
    semantic_multi_turn: bool = False
    semantic_sampling: bool = False


RedactionKind = Literal["api_key", "email", "credit_card", "phone", "ipv4"]
DEFAULT_REDACTION: tuple[RedactionKind, ...] = ("api_key", "email", "credit_card", "phone", "ipv4")


class ContentLoggingConfig(BaseModel):
    """A tenant's opt-in to logging its prompts and completions, redacted.

    Off by default: prompts are the customer's data. When on, every built-in kind in
    `redact` and every regex in `patterns` is replaced before the line is written.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    completions: bool = True
    redact: list[RedactionKind] = Field(default_factory=lambda: list(DEFAULT_REDACTION))
    patterns: list[str] = Field(default_factory=list)
    max_chars: int = Field(default=4000, gt=0, le=1_000_000)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from None
        return patterns


class JudgeConfig(BaseModel):
    """Who grades shadow answers: an LLM judge with a versioned rubric, or exact match only."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None  # None: only prompts with a reference answer are graded
    rubric: str = "v1"  # gateway/learning's rubric versions; a label records which graded it


class LearningConfig(BaseModel):
    """A tenant's opt-in to learning from its own traffic (off by default).

    `capture` keeps each request (redacted by `content_logging`'s rules) in the records
    store; `shadow_rate` of them are also asked of other candidates after the client has its
    answer, and a judge grades every answer; `explore_rate` of `auto` decisions go to a
    non-greedy candidate whose expected cost is at most `explore_max_cost_ratio` times the
    greedy pick's. Shadow and judge calls are charged to `budget`, never the traffic's:
    without one there are none (the load warns). The models named here (`judge.model`,
    `shadow_models`) must be chat models the gateway serves: checked when the gateway loads
    or reloads the file (gateway/learning/checks.py), not by this schema, which does not know
    them. Multi-call routes (cascade, minions) are captured but never shadow-labelled.
    """

    model_config = ConfigDict(extra="forbid")

    capture: bool = False
    shadow_rate: float = Field(default=0.0, ge=0, le=1)
    shadow_models: list[str] = Field(default_factory=list)  # empty: the route's candidates
    # How many of those a shadowed prompt asks (the least-labelled first); None: all of them.
    shadow_models_per_prompt: int | None = Field(default=2, ge=1)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    explore_rate: float = Field(default=0.0, ge=0, le=1)
    explore_max_cost_ratio: float = Field(default=10.0, ge=1)
    budget: BudgetConfig | None = None


class PolicyConfig(BaseModel):
    """The tenant's default route (used when it sends `model: auto`) and its knob."""

    model_config = ConfigDict(extra="forbid")

    route: str = "auto"
    objective: Objective = "max_utility"
    knob: float = 0.0
    # Long documents go to a local/remote collaboration route (e.g. router:minions) instead.
    long_context_route: str | None = None
    long_context_tokens: int = Field(default=8000, gt=0)

    def to_policy(self) -> Policy:
        return Policy(objective=self.objective, knob=self.knob)


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TENANT_NAME_PATTERN)
    key_sha256: list[str] = Field(default_factory=list)
    admin: bool = False
    budgets: list[BudgetConfig] = Field(default_factory=list)
    max_cost_per_request_usd: float | None = Field(default=None, ge=0)
    allowed_models: list[str] = Field(default_factory=lambda: ["*"])
    allowed_routes: list[str] = Field(default_factory=lambda: ["*"])
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    cache: TenantCacheConfig = Field(default_factory=TenantCacheConfig)
    content_logging: ContentLoggingConfig = Field(default_factory=ContentLoggingConfig)
    rate_limits: RateLimitConfig = Field(default_factory=RateLimitConfig)
    timezone: str = "UTC"
    pacing: PacingConfig = Field(default_factory=PacingConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)

    @field_validator("key_sha256")
    @classmethod
    def _hashes_only(cls, hashes: list[str]) -> list[str]:
        for position, value in enumerate(hashes):
            if not _SHA256_HEX.match(value):
                # Never echo the value: a raw key pasted here by mistake must not reach logs.
                raise ValueError(
                    f"entry {position} is not a lowercase hex SHA-256 (store hashes, not keys;"
                    " `costroute tenants add-key` writes them)"
                )
        return hashes

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r} (use an IANA name)") from None
        return zone

    @field_validator("budgets")
    @classmethod
    def _one_budget_per_period(cls, budgets: list[BudgetConfig]) -> list[BudgetConfig]:
        periods = [b.period for b in budgets]
        if len(set(periods)) != len(periods):
            raise ValueError(f"at most one budget per period, got {periods}")
        return budgets

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def may_use_model(self, model: str) -> bool:
        return _matches(model, self.allowed_models)

    def may_use_route(self, route: str) -> bool:
        return _matches(route, self.allowed_routes)


class TenantsFile(BaseModel):
    """The whole of tenants.yaml: names and key hashes are unique across tenants."""

    model_config = ConfigDict(extra="forbid")

    tenants: list[TenantConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> TenantsFile:
        names = [t.name for t in self.tenants]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"tenant names must be unique; repeated: {repeated}")
        owner: dict[str, str] = {}
        for tenant in self.tenants:
            for digest in tenant.key_sha256:
                if owner.setdefault(digest, tenant.name) != tenant.name:
                    raise ValueError(
                        f"one key hash belongs to both {owner[digest]!r} and {tenant.name!r}"
                    )
        return self
