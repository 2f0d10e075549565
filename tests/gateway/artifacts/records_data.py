"""A tenant's labelled traffic in a MemoryRecordStore: the synthetic routing data replayed as
captured requests, shadow calls and judge labels."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.records.base import Label, Outcome, RequestRecord
from gateway.records.memory import MemoryRecordStore
from routers.datasets.format import RoutingDataset
from routers.embedding import HashingEmbedder, Vectors
from tests.routers.knn.synthetic import synthetic


def labelled_store(ds: RoutingDataset | None = None, tenant: str = "acme") -> MemoryRecordStore:
    """Every prompt of `ds` served by its first model, shadowed by the others, all judged."""
    ds = ds or synthetic(300)
    store = MemoryRecordStore()
    records, labels = [], []
    for i, prompt in enumerate(ds.prompts):
        rid = f"req-{i:05d}"
        for j, model in enumerate(ds.models):
            shadow = j > 0
            records.append(RequestRecord(
                request_id=f"{rid}-shadow-{j}" if shadow else rid, tenant=tenant,
                created_at=1_000_000.0 + i, route="auto", model=model,
                purpose="learning" if shadow else "traffic", parent_id=rid if shadow else None,
                prompt=None if shadow else prompt, cost_usd=float(ds.costs[i, j])))
            labels.append(Label(request_id=rid, tenant=tenant, model=model,
                                score=float(ds.scores[i, j]), source="judge",
                                created_at=1_000_000.0 + i))
    asyncio.run(store.write_requests(records))
    asyncio.run(store.write_labels(labels))
    return store


def outcomes(store: MemoryRecordStore, tenant: str = "acme") -> list[Outcome]:
    return asyncio.run(store.outcomes(tenant))


def answered_records(ds: RoutingDataset, tenant: str = "acme",
                     redacted: frozenset[int] = frozenset()
                     ) -> tuple[list[RequestRecord], list[Label]]:
    """Every prompt of `ds` served by its first model and shadowed by the others, with the
    answer texts (`ds.responses`) and a judge call per prompt; the answers of prompts in
    `redacted` carry a redaction mark, as content logging leaves them."""
    records, labels = [], []
    for i, prompt in enumerate(ds.prompts):
        rid = f"req-{i:05d}"
        at = 1_000_000.0 + i
        for j, model in enumerate(ds.models):
            shadow = j > 0
            text = ds.responses[model][i]
            if i in redacted and text is not None:
                text = f"mail [REDACTED:email] about: {text}"
            records.append(RequestRecord(
                request_id=f"{rid}:shadow:{j}" if shadow else rid, tenant=tenant,
                created_at=at + 0.1 * j, route="auto", model=model,
                purpose="learning" if shadow else "traffic", parent_id=rid if shadow else None,
                reason="shadow" if shadow else "table", prompt=None if shadow else prompt,
                answer=text, cost_usd=float(ds.costs[i, j])))
            labels.append(Label(request_id=rid, tenant=tenant, model=model,
                                score=float(ds.scores[i, j]), source="judge", created_at=at))
        # The judge's call is a learning record of a pool model too; its text is a grade.
        records.append(RequestRecord(
            request_id=f"{rid}:judge:0", tenant=tenant, created_at=at + 0.9, route="auto",
            model=ds.models[0], purpose="learning", parent_id=rid, reason="judge",
            answer="Grade: 1", cost_usd=0.00001))
    return records, labels


def answered_store(ds: RoutingDataset, tenant: str = "acme",
                   redacted: frozenset[int] = frozenset()) -> MemoryRecordStore:
    store = MemoryRecordStore()
    records, labels = answered_records(ds, tenant, redacted)
    asyncio.run(store.write_requests(records))
    asyncio.run(store.write_labels(labels))
    return store


class CountingEmbedder:
    """The hashing encoder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder()
        self.name, self.dim = self.inner.name, self.inner.dim
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        return self.inner.embed(texts)
