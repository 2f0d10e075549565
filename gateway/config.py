"""gateway.yaml: which models exist, where their upstreams are, and how routes are built."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from routers.base import Tier


class ConfigError(ValueError):
    """gateway.yaml is invalid; the message names the file, entry and field."""


class TimeoutConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connect_s: float = Field(default=5.0, gt=0)
    first_byte_s: float = Field(default=60.0, gt=0)
    total_s: float = Field(default=600.0, gt=0)


class UpstreamConfig(BaseModel):
    """An OpenAI-compatible server. The API key is named by env var, never written here."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    api_key_env: str | None = None
    model: str | None = None  # the upstream's own name for the model; defaults to the entry's
    api: Literal["openai", "anthropic"] = "openai"  # the wire it speaks (chat or Messages)
    timeout: TimeoutConfig = Field(default_factory=TimeoutConfig)


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    upstream: UpstreamConfig
    tier: Tier = "remote"
    tokenizer: str | None = None
    price: dict[str, Any] | None = None  # fields merged over the catalog entry
    quality: float | None = Field(default=None, ge=0, le=1)  # for the price/quality table
    fallbacks: list[str] = Field(default_factory=list)


RouterKind = Literal["fixed", "cheapest", "table", "knn", "cascade", "minion", "minions"]


class RouteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    router: RouterKind
    models: list[str] | None = None  # candidate pool; default: every configured model
    model: str | None = None  # for `fixed`
    artifact: str | None = None  # for learned routers
    options: dict[str, Any] = Field(default_factory=dict)


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_base_s: float = Field(default=0.25, ge=0)
    backoff_max_s: float = Field(default=8.0, ge=0)
    retry_after_cap_s: float = Field(default=20.0, ge=0)
    failures_before_cooldown: int = Field(default=3, ge=1)
    cooldown_s: float = Field(default=30.0, ge=0)


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["memory", "redis"] = "memory"
    path: str | None = None  # append-only spend log of the memory store
    url: str | None = None  # redis://...
    # Redis Cluster: `url` names any node; each tenant's keys share one hash slot.
    cluster: bool = False
    fail_open: bool = False
    reservation_ttl_s: float = Field(default=900.0, gt=0)


class RecordsConfig(BaseModel):
    """The learning loop's records store (gateway/records): captured requests and labels.

    `sqlite` (default) is one file, `path` or records.sqlite3 in the data directory, opened
    on first use; `postgres` (`url`) serves many replicas; `memory` keeps records in-process;
    `none` keeps nothing (feedback answers 404). Writes go through a bounded outbox of
    `outbox_capacity` records that waits out a database outage. With `retention_days`, every
    `purge_interval_s` the gateway deletes the records (and their labels and text vectors)
    older than that (gateway/records/retention.py); unset, records are kept until
    `costroute learn purge` deletes them. Spend history is not records: with
    `spend_retention_days` its per-request rows (the by-request listing) are deleted once
    that old, on the same timer, while its daily and hourly totals stay, so spend reports
    keep answering (by whole hours at a range's edges past the retention). With
    `spend_hourly_retention_days` the hourly totals go too once that old, by whole UTC days;
    the daily totals always stay, and a range's edges past it count by whole days.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sqlite", "postgres", "memory", "none"] = "sqlite"
    path: str | None = None
    url: str | None = None  # postgresql://user@host:port/db
    outbox_capacity: int = Field(default=10_000, gt=0)
    retention_days: float | None = Field(default=None, gt=0)
    # At least a day: a drain older than this is skipped (its row may be purged already).
    spend_retention_days: float | None = Field(default=None, ge=1)
    spend_hourly_retention_days: float | None = Field(default=None, ge=1)
    purge_interval_s: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> RecordsConfig:
        if self.kind == "postgres" and not self.url:
            raise ValueError("kind `postgres` needs `url` (postgresql://...)")
        for name in ("spend_retention_days", "spend_hourly_retention_days"):
            if getattr(self, name) is not None and self.kind in ("memory", "none"):
                raise ValueError(f"`{name}` needs a database: kind `{self.kind}` keeps no "
                                 "spend history (use sqlite or postgres)")
        if (self.spend_retention_days is not None
                and self.spend_hourly_retention_days is not None
                and self.spend_hourly_retention_days < self.spend_retention_days):
            raise ValueError("`spend_hourly_retention_days` must be at least "
                             "`spend_retention_days`: past the per-request rows, the hourly "
                             "totals are what a report reads")
        return self


class CacheConfig(BaseModel):
    """The completion cache. Off unless enabled: a cached answer is a changed behaviour."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    ttl_s: float = Field(default=3600.0, gt=0)
    max_entries: int = Field(default=10_000, gt=0)
    cache_sampled: bool = False  # also reuse answers of requests with temperature > 0
    semantic: bool = False  # build the semantic layer (each tenant still opts in)
    semantic_ttl_s: float = Field(default=3600.0, gt=0)


class ArtifactsConfig(BaseModel):
    """The router artifact registry (versions, serving pointers); see routers/versions.

    `store` says where versions and serving pointers live: `files` (a directory, `dir`,
    shared by replicas on one host or one volume), `records` (tables in the `records:`
    database, SQLite or PostgreSQL, for replicas on different hosts; `dir` is then each
    replica's local cache of fetched versions), or `auto` (default): `records` when
    `records:` is PostgreSQL, `files` otherwise.
    """

    model_config = ConfigDict(extra="forbid")

    store: Literal["auto", "files", "records"] = "auto"
    dir: str | None = None  # default: $COSTROUTE_DATA_DIR/artifacts
    poll_s: float = Field(default=1.0, gt=0)  # how often each replica checks the pointers

    def backend(self, records: RecordsConfig) -> Literal["files", "records"]:
        """The store `auto` resolves to, given the records store."""
        if self.store == "auto":
            return "records" if records.kind == "postgres" else "files"
        return self.store


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    drain_timeout_s: float = Field(default=30.0, ge=0)


class TracingConfig(BaseModel):
    """OpenTelemetry export (gateway/tracing.py); off unless an endpoint is set here or in env."""

    model_config = ConfigDict(extra="forbid")

    otlp_endpoint: str | None = None  # OTLP/HTTP base URL, e.g. http://collector:4318
    headers: dict[str, str] = Field(default_factory=dict)
    service_name: str = "costroute"


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelEntry] = Field(min_length=1)
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    tenants_file: str | None = None
    store: StoreConfig = Field(default_factory=StoreConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    records: RecordsConfig = Field(default_factory=RecordsConfig)
    artifacts: ArtifactsConfig = Field(default_factory=ArtifactsConfig)
    pricing: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    simulator: bool = False  # serve the bundled upstream simulator under /simulator
    # Routes this config could serve but does not, with what would enable each: the answer
    # to a request for one says so instead of a bare "does not exist".
    route_hints: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_references(self) -> GatewayConfig:
        names = [m.name for m in self.models]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"model names must be unique; repeated: {sorted(duplicates)}")
        known = set(names)
        for model in self.models:
            for fallback in model.fallbacks:
                if fallback not in known:
                    raise ValueError(f"model {model.name!r}: unknown fallback {fallback!r}")
        for alias, route in self.routes.items():
            if alias in known:
                raise ValueError(f"route {alias!r} has the same name as a model")
            for name in [*(route.models or []), *([route.model] if route.model else [])]:
                if name not in known:
                    raise ValueError(f"route {alias!r}: unknown model {name!r}")
        if self.artifacts.store == "records" and self.records.kind not in ("sqlite", "postgres"):
            raise ValueError(f"artifacts: store `records` needs a `records:` database (sqlite "
                             f"or postgres), not kind {self.records.kind!r}")
        return self

    def model(self, name: str) -> ModelEntry | None:
        for entry in self.models:
            if entry.name == name:
                return entry
        return None


def load_config(path: str | Path) -> GatewayConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(raw, source=str(path), base_dir=path.parent)


def parse_config(raw: Any, source: str = "config", base_dir: Path | None = None) -> GatewayConfig:
    try:
        config = GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
    if base_dir is not None and config.tenants_file:
        tenants = Path(config.tenants_file)
        if not tenants.is_absolute():
            config.tenants_file = str((base_dir / tenants).resolve())
    if base_dir is not None and config.artifacts.dir and not Path(config.artifacts.dir).is_absolute():
        config.artifacts.dir = str((base_dir / config.artifacts.dir).resolve())
    return config
