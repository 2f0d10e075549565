"""An in-process RecordStore: for tests, and for gateways configured to keep no records."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from gateway.records.base import (
    JUDGE_REASON,
    AnswerText,
    Label,
    LabelCounts,
    Outcome,
    PurgeCounts,
    RequestRecord,
    TextVector,
)
from gateway.records.current import current_scores
from gateway.records.retention import vector_keys


class MemoryRecordStore:
    def __init__(self) -> None:
        self._requests: dict[str, RequestRecord] = {}
        self._labels: dict[tuple[str, str, str, str, float], Label] = {}
        self._vectors: dict[tuple[str, str], TextVector] = {}
        self._vector_times: dict[tuple[str, str], float] = {}  # when each was stored

    async def write_requests(self, records: Sequence[RequestRecord]) -> None:
        for record in records:
            # As in SQL, the vector goes to the vectors, not back out with the record.
            kept = record if record.vector is None else replace(record, vector=None)
            self._requests.setdefault(record.request_id, kept)
        await self.write_vectors([r.vector for r in records if r.vector is not None])

    async def write_vectors(self, vectors: Sequence[TextVector]) -> None:
        now = time.time()
        for vector in vectors:
            key = (vector.encoder, vector.key)
            if key not in self._vectors:
                self._vectors[key] = vector
                self._vector_times[key] = now

    async def vectors(self, encoder: str, keys: Sequence[str]) -> dict[str, TextVector]:
        found = (self._vectors.get((encoder, key)) for key in keys)
        return {v.key: v for v in found if v is not None}

    async def write_labels(self, labels: Sequence[Label]) -> None:
        for label in labels:
            key = (label.request_id, label.model, label.metric, label.source, label.created_at)
            self._labels.setdefault(key, label)

    async def get_request(self, tenant: str, request_id: str) -> RequestRecord | None:
        record = self._requests.get(request_id)
        return record if record is not None and record.tenant == tenant else None

    async def label_history(self, tenant: str, request_id: str) -> list[Label]:
        found = [x for x in self._labels.values()
                 if x.tenant == tenant and x.request_id == request_id]
        return sorted(found, key=lambda x: x.created_at)

    async def outcomes(self, tenant: str | None, *, metric: str = "default",
                       since: float | None = None) -> list[Outcome]:
        by_request: dict[str, list[Label]] = {}
        for label in self._labels.values():
            if label.metric == metric and (tenant is None or label.tenant == tenant):
                by_request.setdefault(label.request_id, []).append(label)
        costs: dict[str, dict[str, float]] = {}
        for stored in self._requests.values():
            if stored.reason == JUDGE_REASON and stored.purpose == "learning":
                continue  # a judge's call grades an answer; its cost is no model's answer's
            root = stored.parent_id or stored.request_id
            costs.setdefault(root, {})[stored.model] = stored.cost_usd
        out = []
        for request_id, labels in by_request.items():
            record = self._requests.get(request_id)
            if record is None or record.prompt is None or record.purpose != "traffic":
                continue
            if since is not None and record.created_at < since:
                continue
            out.append(Outcome(record.request_id, record.tenant, record.created_at,
                               record.route, record.prompt, current_scores(labels),
                               costs.get(request_id, {})))
        return sorted(out, key=lambda o: o.created_at)

    async def answers(self, tenant: str | None, *,
                      since: float | None = None) -> list[AnswerText]:
        roots = {r.request_id for r in self._requests.values()
                 if r.purpose == "traffic" and r.prompt is not None
                 and (tenant is None or r.tenant == tenant)
                 and (since is None or r.created_at >= since)}
        out = []
        for r in self._requests.values():
            if r.request_id in roots:
                out.append(AnswerText(r.request_id, r.model, r.answer, r.created_at))
            elif (r.purpose == "learning" and r.parent_id in roots
                  and r.reason != JUDGE_REASON):
                out.append(AnswerText(r.parent_id, r.model, r.answer, r.created_at))
        return sorted(out, key=lambda a: (a.created_at, a.request_id, a.model))

    async def counts(self, tenant: str | None) -> LabelCounts:
        requests = [r for r in self._requests.values()
                    if r.purpose == "traffic" and (tenant is None or r.tenant == tenant)]
        routes = {r.request_id: r.route for r in requests}
        # A label re-given (a client's later rating) is counted once: its current value.
        current = {(x.request_id, x.model, x.metric, x.source): x for x in self._labels.values()
                   if tenant is None or x.tenant == tenant}
        labels = list(current.values())
        return LabelCounts(
            requests=len(requests),
            captured=sum(1 for r in requests if r.prompt is not None),
            labels_by_model=dict(Counter(x.model for x in labels)),
            labels_by_route=dict(Counter(routes.get(x.request_id, "?") for x in labels)),
            labels_by_source=dict(Counter(x.source for x in labels)),
        )

    async def purge(self, before: float, tenant: str | None = None, *,
                    dry_run: bool = False) -> PurgeCounts:
        gone = {r.request_id: r for r in self._requests.values()
                if r.created_at < before and (tenant is None or r.tenant == tenant)}
        labels = [k for k, x in self._labels.items()
                  if x.request_id in gone
                  or (x.created_at < before and (tenant is None or x.tenant == tenant)
                      and x.request_id not in self._requests)]
        keys = vector_keys(t for r in gone.values() for t in (r.prompt, r.answer))
        vectors = [k for k, at in self._vector_times.items()
                   if k[1] in keys or (tenant is None and at < before)]
        if not dry_run:
            for request_id in gone:
                del self._requests[request_id]
            for key in labels:
                del self._labels[key]
            for pair in vectors:
                del self._vectors[pair], self._vector_times[pair]
        return PurgeCounts(len(gone), len(labels), len(vectors))

    async def aclose(self) -> None:
        return None
