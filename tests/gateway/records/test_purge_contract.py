"""Records retention: every store purges alike (in-process, SQLite on a real file, real
PostgreSQL): old requests with all their labels and their texts' vectors, one tenant's or
everyone's, and a dry run that counts without deleting."""

from __future__ import annotations

import time

import numpy as np

from gateway.records.base import PurgeCounts, RecordStore
from gateway.records.retention import vector_keys
from gateway.records.vectors import text_vector
from routers.datasets.text import embedding_text, text_hash
from tests.gateway.records.samples import label, request

FEW_SHOT = "Q: 1+1?\nA: 2\n\nQ: What is 3+3?\nA:"


def _vec(seed: int) -> np.ndarray:
    row = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return row / np.linalg.norm(row)


async def _fill(store: RecordStore) -> None:
    await store.write_requests([
        request("old-a", at=1000.0, prompt="old prompt of acme", answer="old answer"),
        request("old-a-shadow", at=1001.0, purpose="learning", parent_id="old-a",
                model="m-large", prompt="old prompt of acme", answer="shadow answer"),
        request("new-a", at=5000.0, prompt="new prompt of acme"),
        request("old-b", tenant="bravo", at=1000.0, prompt="old prompt of bravo"),
    ])
    await store.write_labels([
        label("old-a", at=1002.0), label("old-a", model="m-large", source="judge", at=1003.0),
        label("old-a", score=0.0, at=6000.0),  # a rating given after the cut-off still goes
        label("new-a", at=5001.0),
        label("old-b", tenant="bravo", at=1002.0),
        label("never-stored", at=900.0),  # its request's write was dropped
    ])
    await store.write_vectors([
        text_vector(text_hash("old prompt of acme"), "enc", _vec(1)),
        text_vector(text_hash("shadow answer"), "enc", _vec(2)),
        text_vector(text_hash("new prompt of acme"), "enc", _vec(3)),
        text_vector(text_hash("old prompt of bravo"), "enc", _vec(4)),
    ])


async def _keys(store: RecordStore) -> set[str]:
    wanted = [text_hash(t) for t in ("old prompt of acme", "shadow answer",
                                     "new prompt of acme", "old prompt of bravo")]
    return set(await store.vectors("enc", wanted))


async def test_one_tenants_old_requests_go_with_their_labels_and_vectors(
        store: RecordStore) -> None:
    await _fill(store)
    counts = await store.purge(2000.0, tenant="acme")
    assert counts == PurgeCounts(requests=2, labels=4, vectors=2)
    assert await store.get_request("acme", "old-a") is None
    assert await store.get_request("acme", "old-a-shadow") is None
    assert await store.label_history("acme", "old-a") == []
    assert await store.label_history("acme", "never-stored") == []
    # What is newer, and the other tenant's, is untouched.
    assert await store.get_request("acme", "new-a") is not None
    assert len(await store.label_history("acme", "new-a")) == 1
    assert await store.get_request("bravo", "old-b") is not None
    assert len(await store.label_history("bravo", "old-b")) == 1
    assert await _keys(store) == {text_hash("new prompt of acme"), text_hash("old prompt of bravo")}
    assert [o.request_id for o in await store.outcomes("acme")] == ["new-a"]
    # Purging again finds nothing.
    assert await store.purge(2000.0, tenant="acme") == PurgeCounts()


async def test_everyones_purge_also_ages_out_vectors_by_when_they_were_stored(
        store: RecordStore) -> None:
    await _fill(store)
    assert (await store.purge(2000.0)).requests == 3
    assert await store.get_request("bravo", "old-b") is None
    assert await _keys(store) == {text_hash("new prompt of acme")}
    # Vectors are stored "now": a cut-off after now takes the rest, requests or not.
    counts = await store.purge(time.time() + 60)
    assert counts.requests == 1 and counts.vectors == 1
    assert await _keys(store) == set()
    assert (await store.counts(None)).requests == 0


async def test_a_dry_run_counts_and_deletes_nothing(store: RecordStore) -> None:
    await _fill(store)
    dry = await store.purge(2000.0, tenant="acme", dry_run=True)
    assert dry == PurgeCounts(requests=2, labels=4, vectors=2)
    assert await store.get_request("acme", "old-a") is not None
    assert len(await _keys(store)) == 4
    assert await store.purge(2000.0, tenant="acme") == dry


async def test_purges_run_in_pages(store: RecordStore, monkeypatch) -> None:
    monkeypatch.setattr("gateway.records.sql.PURGE_BATCH", 7)
    await store.write_requests([request(f"r{i:03d}", at=1000.0 + i, prompt=f"prompt {i}")
                                for i in range(30)])
    await store.write_labels([label(f"r{i:03d}", at=1100.0 + i) for i in range(30)])
    await store.write_vectors([text_vector(text_hash(f"prompt {i}"), "enc", _vec(i))
                               for i in range(30)])
    counts = await store.purge(1020.0, tenant="acme")
    assert counts == PurgeCounts(requests=20, labels=20, vectors=20)
    assert (await store.counts("acme")).requests == 10


def test_vector_keys_cover_the_stored_prompt_and_what_a_retrain_embeds() -> None:
    keys = vector_keys([FEW_SHOT, None, ""])
    assert keys == {text_hash(FEW_SHOT), text_hash(embedding_text(FEW_SHOT))}
    assert len(keys) == 2
