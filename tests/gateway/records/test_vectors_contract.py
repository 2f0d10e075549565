"""Stored text vectors: every store keeps and returns them alike (in-process, SQLite on a real
file, real PostgreSQL), and a captured record's vector is stored with it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gateway.records.base import RecordStore
from gateway.records.vectors import as_array, text_vector
from tests.gateway.records.samples import request


def _vec(seed: int, dim: int = 384) -> np.ndarray:
    row = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return row / np.linalg.norm(row)


async def test_vectors_read_back_bit_for_bit_by_encoder_and_key(store: RecordStore) -> None:
    await store.write_vectors([text_vector("k1", "enc-a", _vec(1)),
                               text_vector("k2", "enc-a", _vec(2)),
                               text_vector("k1", "enc-b", _vec(3, dim=8))])
    found = await store.vectors("enc-a", ["k1", "k2", "k3", "k1"])
    assert set(found) == {"k1", "k2"}
    assert np.array_equal(as_array(found["k1"]), _vec(1))
    assert np.array_equal(as_array(found["k2"]), _vec(2))
    other = await store.vectors("enc-b", ["k1", "k2"])
    assert set(other) == {"k1"} and other["k1"].dim == 8
    assert np.array_equal(as_array(other["k1"]), _vec(3, dim=8))
    assert await store.vectors("enc-a", []) == {}
    assert await store.vectors("nobody", ["k1"]) == {}


async def test_the_first_vector_of_a_key_is_kept(store: RecordStore) -> None:
    await store.write_vectors([text_vector("k1", "enc", _vec(1))])
    await store.write_vectors([text_vector("k1", "enc", _vec(2)),
                               text_vector("k2", "enc", _vec(3))])
    found = await store.vectors("enc", ["k1", "k2"])
    assert np.array_equal(as_array(found["k1"]), _vec(1))
    assert np.array_equal(as_array(found["k2"]), _vec(3))


async def test_many_keys_are_looked_up_in_chunks(store: RecordStore) -> None:
    rows = [text_vector(f"k{i}", "enc", _vec(i, dim=4)) for i in range(1203)]
    await store.write_vectors(rows)
    found = await store.vectors("enc", [f"k{i}" for i in range(0, 1500, 2)])
    assert len(found) == 602
    assert np.array_equal(as_array(found["k1000"]), _vec(1000, dim=4))


async def test_a_records_vector_is_stored_with_it_and_not_read_back_on_it(
        store: RecordStore) -> None:
    record = replace(request("r1"), vector=text_vector("kp", "enc", _vec(7)))
    await store.write_requests([record, request("r2")])
    found = await store.vectors("enc", ["kp"])
    assert np.array_equal(as_array(found["kp"]), _vec(7))
    back = await store.get_request("acme", "r1")
    assert back is not None and back.vector is None and back == record
    # A replayed batch (the outbox retries whole batches) changes nothing.
    await store.write_requests([replace(record, vector=text_vector("kp", "enc", _vec(8)))])
    assert np.array_equal(as_array((await store.vectors("enc", ["kp"]))["kp"]), _vec(7))
