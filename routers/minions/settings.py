"""A Minion/MinionS route's options (gateway.yaml `routes.<alias>.options`), validated."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from pricing.tokenizers import HeuristicTokenizer, TokenizerRegistry
from routers.base import Candidate

# What a MinionS job replies; strings may be null when the chunk has nothing relevant.
JOB_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {key: {"type": ["string", "null"]}
                   for key in ("explanation", "citation", "answer")},
    "required": ["explanation", "citation", "answer"],
}


class MinionsConfigError(ValueError):
    """A Minion/MinionS route is misconfigured; the message names the option."""


@dataclass(frozen=True, slots=True)
class MinionsSettings:
    """Every knob of both protocols, with defaults sized for a small local model."""

    local_model: str | None = None  # default: the first local-tier model in the route's pool
    remote_model: str | None = None  # default: the first remote-tier model in the pool
    max_rounds: int = 3  # Minion: questions the remote may ask; MinionS: plan/run rounds
    json_retries: int = 2  # extra remote calls when its JSON is malformed
    local_json_retries: int = 1  # extra local calls when a job's JSON is malformed
    chunk_tokens: int = 800
    overlap_tokens: int = 80
    max_parallel: int = 4  # local jobs in flight at once
    max_tasks: int = 6  # tasks per MinionS plan
    max_jobs: int = 48  # (task, chunk) jobs per MinionS round
    local_context_tokens: int = 3000  # Minion: document budget in the local prompt
    remote_max_tokens: int = 1024
    local_max_tokens: int = 256
    share_system_tokens: int = 200  # system messages up to this size are shown to the remote
    # A shorter document goes to the remote directly: reading it costs the remote less than
    # the protocol's own remote calls (planning, synthesis) do. 0: always run the protocol.
    min_document_tokens: int = 0
    share_outline: bool = True  # MinionS: show the remote section titles and chunk numbers
    result_chars: int = 400  # per field of a job result shown to the remote
    max_results_shown: int = 24  # answered jobs shown to the remote per round
    tokenizer: str = "heuristic"  # a pricing tokenizer name, for chunk sizes
    # Local jobs ask for `response_format: json_object` (True), also pass the job's JSON
    # schema in it ("schema": llama.cpp and Anyscale-style servers enforce the exact keys),
    # or ask for nothing (False).
    local_json_mode: bool | Literal["schema"] = True
    remote_json_mode: bool = False
    local_params: Mapping[str, Any] = field(default_factory=dict)
    remote_params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positive = ("max_rounds", "chunk_tokens", "max_parallel", "max_tasks", "max_jobs",
                    "local_context_tokens", "remote_max_tokens", "local_max_tokens",
                    "result_chars", "max_results_shown")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise MinionsConfigError(f"minions option `{name}` must be an integer >= 1")
        for name in ("json_retries", "local_json_retries", "overlap_tokens",
                     "share_system_tokens", "min_document_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise MinionsConfigError(f"minions option `{name}` must be an integer >= 0")
        if self.local_json_mode not in (True, False, "schema"):
            raise MinionsConfigError(
                "minions option `local_json_mode` must be true, false or \"schema\"")
        if self.overlap_tokens >= self.chunk_tokens:
            raise MinionsConfigError("minions option `overlap_tokens` must be < `chunk_tokens`")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MinionsSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise MinionsConfigError(
                f"unknown minions option(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(options))

    def token_counter(self) -> Callable[[str], int]:
        """Counts tokens for chunk sizes; loads a real tokenizer only when one is named."""
        if self.tokenizer == "heuristic":
            return HeuristicTokenizer().count
        return TokenizerRegistry().get(self.tokenizer).count

    def local_call_params(self, json_mode: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"max_tokens": self.local_max_tokens}
        if json_mode and self.local_json_mode:
            response_format: dict[str, Any] = {"type": "json_object"}
            if self.local_json_mode == "schema":
                response_format["schema"] = JOB_SCHEMA
            params["response_format"] = response_format
        return {**params, **self.local_params}

    def remote_call_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"max_tokens": self.remote_max_tokens}
        if self.remote_json_mode:
            params["response_format"] = {"type": "json_object"}
        return {**params, **self.remote_params}


@dataclass(frozen=True, slots=True)
class Pair:
    """The two models one run uses."""

    local: str
    remote: str


def pick_models(settings: MinionsSettings, candidates: Sequence[Candidate]) -> Pair:
    """The configured pair, or the first local- and remote-tier models of the pool."""
    local = settings.local_model or _first(candidates, "local")
    remote = settings.remote_model or _first(candidates, "remote")
    if local is None or remote is None:
        missing = "local" if local is None else "remote"
        raise MinionsConfigError(
            f"minions route: no {missing} model: set `{missing}_model` in the route's options"
            f" or put a {missing}-tier model in its pool")
    return Pair(local, remote)


def _first(candidates: Sequence[Candidate], tier: str) -> str | None:
    return next((c.model for c in candidates if c.tier == tier), None)
