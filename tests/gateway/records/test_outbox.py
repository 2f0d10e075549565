"""The outbox: never blocks the caller, keeps batches through an outage, counts what it drops."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from gateway.records.base import Label, RecordStoreUnavailable, RequestRecord
from gateway.records.memory import MemoryRecordStore
from gateway.records.outbox import RecordOutbox
from gateway.records.outbox_metrics import OutboxMetrics
from tests.gateway.records.samples import label, request


class FlakyStore(MemoryRecordStore):
    """An in-process store that can be switched off: it raises as an unreachable database."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.attempts = 0

    async def write_requests(self, records: Sequence[RequestRecord]) -> None:
        self.attempts += 1
        if self.down:
            raise RecordStoreUnavailable("simulated outage")
        await super().write_requests(records)

    async def write_labels(self, labels: Sequence[Label]) -> None:
        if self.down:
            raise RecordStoreUnavailable("simulated outage")
        await super().write_labels(labels)


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels or None) or 0.0


async def test_records_queued_are_written_and_findable_meanwhile() -> None:
    store = MemoryRecordStore()
    outbox = RecordOutbox(store)
    outbox.add_request(request("r1"))
    outbox.add_label(label("r1"))
    assert outbox.pending_request("acme", "r1") is not None
    assert outbox.pending_request("globex", "r1") is None  # another tenant's
    assert await outbox.flush(5)
    assert await store.get_request("acme", "r1") is not None
    assert len(await store.label_history("acme", "r1")) == 1
    assert outbox.pending_request("acme", "r1") is None
    assert outbox.stats().written == 2
    await outbox.aclose()


async def test_an_outage_keeps_every_batch_until_the_store_is_back() -> None:
    store = FlakyStore()
    registry = CollectorRegistry()
    outbox = RecordOutbox(store, batch_size=7, metrics=OutboxMetrics(registry),
                          retry_base_s=0.01, retry_max_s=0.05)
    store.down = True
    for i in range(50):
        outbox.add_request(request(f"r{i}"))
    assert not await outbox.flush(0.3)
    assert store.attempts > 2 and outbox.stats().failures > 2
    assert _sample(registry, "costroute_records_outbox_depth") == 50
    assert outbox.pending_request("acme", "r0") is not None
    store.down = False
    assert await outbox.flush(5)
    assert (await store.counts("acme")).requests == 50
    assert outbox.stats().dropped == 0 and outbox.stats().last_error is None
    assert _sample(registry, "costroute_records_written_total", kind="request") == 50
    assert _sample(registry, "costroute_records_outbox_depth") == 0
    await outbox.aclose()


async def test_a_full_outbox_drops_new_records_and_counts_them() -> None:
    store = FlakyStore()
    store.down = True
    registry = CollectorRegistry()
    outbox = RecordOutbox(store, capacity=10, batch_size=5, metrics=OutboxMetrics(registry),
                          retry_base_s=0.01)
    for i in range(40):
        outbox.add_request(request(f"r{i}"))  # never blocks, never raises
    outbox.add_label(label("r0"))
    await asyncio.sleep(0.05)
    dropped = outbox.stats().dropped
    # The drainer holds one batch of 5 in flight: 10 queued + 5 in flight are kept.
    assert 41 - 15 <= dropped <= 41 - 10
    assert _sample(registry, "costroute_records_dropped_total", kind="request", why="full") \
        + _sample(registry, "costroute_records_dropped_total", kind="label", why="full") == dropped
    store.down = False
    assert await outbox.flush(5)
    assert (await store.counts("acme")).requests == 41 - dropped
    await outbox.aclose()


async def test_shutdown_drains_what_it_can_and_counts_the_rest() -> None:
    store = MemoryRecordStore()
    outbox = RecordOutbox(store)
    for i in range(20):
        outbox.add_request(request(f"r{i}"))
    await outbox.aclose()
    assert (await store.counts("acme")).requests == 20

    flaky = FlakyStore()
    flaky.down = True
    registry = CollectorRegistry()
    stuck = RecordOutbox(flaky, metrics=OutboxMetrics(registry), retry_base_s=0.01)
    for i in range(3):
        stuck.add_request(request(f"s{i}"))
    await stuck.aclose(timeout_s=0.2)
    assert _sample(registry, "costroute_records_dropped_total", kind="request",
                   why="shutdown") == 3
    stuck.add_request(request("late"))  # after close: dropped, not raised
    assert stuck.stats().dropped == 4


async def test_a_batch_the_store_rejects_is_dropped_and_the_drainer_goes_on() -> None:
    class Broken(MemoryRecordStore):
        async def write_labels(self, labels: Sequence[Label]) -> None:
            if any(x.model == "bad" for x in labels):
                raise ValueError("a bug, not an outage")
            await super().write_labels(labels)

    store = Broken()
    outbox = RecordOutbox(store, batch_size=1)
    outbox.add_label(label("r1", model="bad"))
    outbox.add_label(label("r2"))
    assert await outbox.flush(5)
    assert outbox.stats().dropped == 1
    assert len(await store.label_history("acme", "r2")) == 1
    await outbox.aclose()


async def test_deferred_records_are_built_by_the_drainer_or_for_feedback() -> None:
    store = MemoryRecordStore()
    outbox = RecordOutbox(store)
    built: list[str] = []

    def build(request_id: str) -> RequestRecord:
        built.append(request_id)
        return request(request_id)

    def broken() -> RequestRecord:
        raise ValueError("a capture bug")

    outbox.add_deferred("r1", "acme", lambda: build("r1"))
    outbox.add_deferred("r2", "acme", lambda: build("r2"))
    outbox.add_deferred("bad", "acme", broken)
    found = outbox.pending_request("acme", "r1")  # feedback before the drainer ran
    assert found is not None and found.model == "m-small" and built == ["r1"]
    assert outbox.pending_request("globex", "r2") is None and built == ["r1"]
    assert outbox.pending_request("acme", "bad") is None
    assert await outbox.flush(5)
    assert built == ["r1", "r2"]  # r1 was built once
    assert (await store.counts("acme")).requests == 2
    assert outbox.stats().dropped == 1
    await outbox.aclose()


async def test_through_an_outage_deferred_records_are_built_and_their_inputs_let_go() -> None:
    store = FlakyStore()
    store.down = True
    outbox = RecordOutbox(store, batch_size=2, retry_base_s=0.02, retry_max_s=0.05)
    built: list[str] = []

    def build(request_id: str) -> RequestRecord:
        built.append(request_id)
        return request(request_id)

    for i in range(10):
        outbox.add_deferred(f"r{i}", "acme", lambda i=i: build(f"r{i}"))
    outbox.add_deferred("bad", "acme", lambda: request("bad", model=str(1 / 0)))
    assert not await outbox.flush(0.3)
    assert sorted(built) == sorted(f"r{i}" for i in range(10))  # all built while waiting
    assert outbox.stats().dropped == 1 and outbox.pending_request("acme", "bad") is None
    store.down = False
    assert await outbox.flush(5)
    assert (await store.counts("acme")).requests == 10 and len(built) == 10
    await outbox.aclose()
