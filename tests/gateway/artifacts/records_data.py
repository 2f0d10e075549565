"""A tenant's labelled traffic in a MemoryRecordStore: the synthetic routing data replayed as
captured requests, shadow calls and judge labels."""

from __future__ import annotations

import asyncio

from gateway.records.base import Label, Outcome, RequestRecord
from gateway.records.memory import MemoryRecordStore
from routers.datasets.format import RoutingDataset
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
