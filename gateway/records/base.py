"""The records store's interface: captured requests, decisions, answers, costs and labels.

This is what the learning loop trains on (feedback, judged shadow calls, exploration) and,
later, where settled spend history lives. One `RecordStore` protocol; implementations:

    MemoryRecordStore   in-process, for tests and for gateways that keep nothing
    SQLite (WAL)        the embedded default (gateway/records/sqlite.py)
    PostgreSQL          many replicas (gateway/records/postgres.py)

Writes never sit on a request's critical path: the gateway hands them to an outbox
(gateway/records/outbox.py) that drains in the background and survives a database outage.
So every write is idempotent: a request is keyed by its id, a label by
(request_id, model, metric, source, created_at).

Exceptions a store raises:

    RecordStoreUnavailable   the database cannot be reached (the outbox keeps the batch)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Purpose = Literal["traffic", "learning"]
LabelSource = Literal["feedback", "judge", "exact"]
# `reason` of a learning record that is a judge's grade, not an answer (gateway/learning/judge).
JUDGE_REASON = "judge"


class RecordStoreUnavailable(RuntimeError):
    """The records database cannot be reached; the caller may retry the same batch."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One answered call: a client's request (`traffic`) or a shadow call (`learning`).

    `prompt` and `answer` are the tenant's content-logging redaction of the text, or None
    when the tenant does not capture content. A shadow call has `parent_id` set to the
    client's request it labels, and `purpose="learning"`.
    """

    request_id: str
    tenant: str
    created_at: float  # unix seconds
    route: str
    model: str
    purpose: Purpose = "traffic"
    parent_id: str | None = None
    reason: str = ""
    explored: bool = False
    # [{"model", "expected_cost_usd", "predicted_quality"?}, ...] as the router saw them.
    candidates: tuple[Mapping[str, Any], ...] = ()
    prompt: str | None = None
    answer: str | None = None
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    language: str | None = None
    status: int = 200
    artifact_version: str | None = None  # the router artifact that decided, if any
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The prompt's vector when the route computed it (the k-NN router does): written to the
    # store's text vectors beside the record, so a retrain need not embed the prompt again.
    # Not a column of the request, and never read back with it.
    vector: TextVector | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TextVector:
    """What encoder `encoder` made of the text whose `text_hash` is `key`.

    `vector` is `dim` little-endian float32 values (gateway/records/vectors.py converts). A
    vector depends on the text and the encoder only, so the key carries no tenant: two
    tenants sending one text share its vector, and neither can read it without the text.
    """

    key: str
    encoder: str
    dim: int
    vector: bytes


@dataclass(frozen=True, slots=True)
class Label:
    """A grade in [0, 1] of one model's answer to one captured prompt.

    `request_id` is always the client's request (a shadow answer's label points at its
    parent), so all of a prompt's labels meet in one place. History is kept: the current
    label of (request_id, model, metric, source) is the one with the latest `created_at`.
    """

    request_id: str
    tenant: str
    model: str
    score: float
    source: LabelSource
    created_at: float
    metric: str = "default"
    grader: str = ""  # "client", "judge:<model>:<rubric version>", "exact"
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A captured traffic prompt with every model's current score and cost on it."""

    request_id: str
    tenant: str
    created_at: float
    route: str
    prompt: str
    scores: Mapping[str, float]  # model -> current score (feedback wins over judge)
    costs: Mapping[str, float]  # model -> USD of its answer (traffic or shadow call)


@dataclass(frozen=True, slots=True)
class AnswerText:
    """One model's recorded answer to a captured traffic prompt: the served answer (the
    client's record) or a shadow call's (a `learning` record whose parent is the client's).

    `answer` is what the store keeps: the tenant's content-logging redaction of the text, or
    None when no text was kept. Judge calls are not answers and are never listed.
    """

    request_id: str  # the client's request: a shadow answer's parent
    model: str
    answer: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class LabelCounts:
    """How much labelled data exists, for `costroute learn status`."""

    requests: int
    captured: int  # requests with prompt text
    labels_by_model: Mapping[str, int]
    labels_by_route: Mapping[str, int]
    labels_by_source: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """What one purge deleted (or, dry, would delete)."""

    requests: int = 0
    labels: int = 0
    vectors: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "labels": self.labels, "vectors": self.vectors}


@runtime_checkable
class RecordSink(Protocol):
    """Where the request path hands records: never blocks, never raises (gateway/records/outbox)."""

    def add_request(self, record: RequestRecord) -> None: ...

    def add_label(self, label: Label) -> None: ...


@runtime_checkable
class RecordStore(Protocol):
    async def write_requests(self, records: Sequence[RequestRecord]) -> None:
        """Stores each record; a repeated request id replaces nothing (first write wins)."""

    async def write_labels(self, labels: Sequence[Label]) -> None:
        """Appends labels; a repeat of the same key is a no-op."""

    async def get_request(self, tenant: str, request_id: str) -> RequestRecord | None:
        """The tenant's own record of `request_id`, or None (also for another tenant's)."""

    async def label_history(self, tenant: str, request_id: str) -> list[Label]:
        """Every label of one request, oldest first."""

    async def outcomes(self, tenant: str | None, *, metric: str = "default",
                       since: float | None = None) -> list[Outcome]:
        """Captured traffic prompts with at least one current label, oldest first."""

    async def answers(self, tenant: str | None, *,
                      since: float | None = None) -> list[AnswerText]:
        """Every recorded answer (served and shadow) to the captured traffic prompts that
        `outcomes` would list (same tenant and `since`), oldest first; the cascade trainer
        joins them with the outcomes' labels and costs."""

    async def counts(self, tenant: str | None) -> LabelCounts:
        """Labelled outcomes per model, per route and per source."""

    async def write_vectors(self, vectors: Sequence[TextVector]) -> None:
        """Stores text vectors; an (encoder, key) already stored keeps its first vector.
        `write_requests` also stores the `vector` of each record that carries one."""

    async def vectors(self, encoder: str, keys: Sequence[str]) -> dict[str, TextVector]:
        """The stored vectors of `encoder` among `keys` (key -> vector; misses are absent)."""

    async def purge(self, before: float, tenant: str | None = None, *,
                    dry_run: bool = False) -> PurgeCounts:
        """Deletes the requests created before `before` (unix seconds; one tenant's, or
        everyone's), every label of them, and the text vectors of their prompts and answers;
        with no tenant, also every vector stored before `before`. `dry_run` counts only.
        See gateway/records/retention.py."""

    async def aclose(self) -> None:
        """Releases connections."""
