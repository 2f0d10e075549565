"""Every RecordStore behaves the same: in-process, SQLite (a real file), real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from gateway.records.base import RecordStore
from tests.gateway.records.samples import label, request


async def test_a_request_round_trips_whole(store: RecordStore) -> None:
    record = request("r1", extra={"client_request_id": "mine"}, explored=True,
                     artifact_version="knn@3")
    await store.write_requests([record])
    assert await store.get_request("acme", "r1") == record


async def test_a_repeated_request_id_keeps_the_first_write(store: RecordStore) -> None:
    await store.write_requests([request("r1", model="m-small")])
    await store.write_requests([request("r1", model="m-large"), request("r2")])
    found = await store.get_request("acme", "r1")
    assert found is not None and found.model == "m-small"
    assert (await store.counts("acme")).requests == 2


async def test_another_tenants_request_is_not_found(store: RecordStore) -> None:
    await store.write_requests([request("r1", tenant="acme")])
    assert await store.get_request("globex", "r1") is None
    assert await store.get_request("acme", "missing") is None


async def test_label_history_is_kept_oldest_first_and_repeats_are_no_ops(
        store: RecordStore) -> None:
    await store.write_requests([request("r1")])
    first, second = label("r1", score=0.2, at=10.0), label("r1", score=0.9, at=20.0)
    await store.write_labels([second, first])
    await store.write_labels([first])  # the outbox retrying a batch
    assert await store.label_history("acme", "r1") == [first, second]
    assert await store.label_history("globex", "r1") == []


async def test_outcomes_take_the_latest_feedback_over_a_judge(store: RecordStore) -> None:
    await store.write_requests([
        request("r1", at=1.0), request("r2", at=2.0),
        request("s1", model="m-large", purpose="learning", parent_id="r1", prompt=None),
        request("r3", at=3.0, prompt=None),  # not captured: no prompt, no outcome
        request("r4", at=4.0, tenant="globex"),
    ])
    await store.write_labels([
        label("r1", "m-small", 0.0, source="judge", at=50.0),
        label("r1", "m-small", 0.3, source="feedback", at=10.0),
        label("r1", "m-small", 0.8, source="feedback", at=20.0),
        label("r1", "m-large", 1.0, source="judge", at=30.0),
        label("r2", "m-small", 0.5, source="judge", at=30.0, metric="other"),
        label("r3", "m-small", 1.0, at=30.0),
        label("r4", "m-small", 1.0, tenant="globex", at=30.0),
    ])
    outcomes = await store.outcomes("acme")
    assert [o.request_id for o in outcomes] == ["r1"]
    (outcome,) = outcomes
    assert dict(outcome.scores) == {"m-small": 0.8, "m-large": 1.0}
    assert dict(outcome.costs) == {"m-small": 0.001, "m-large": 0.001}
    assert outcome.prompt == "What is 2+2?" and outcome.route == "auto"
    assert [o.request_id for o in await store.outcomes("acme", metric="other")] == ["r2"]
    assert [o.request_id for o in await store.outcomes(None)] == ["r1", "r4"]
    assert await store.outcomes("acme", since=1.5) == []


async def test_counts_per_model_route_and_source(store: RecordStore) -> None:
    await store.write_requests([
        request("r1"), request("r2", route="router:cheapest"), request("r3", prompt=None),
        request("s1", purpose="learning", parent_id="r1", model="m-large"),
        request("x1", tenant="globex"),
    ])
    await store.write_labels([
        label("r1", "m-small", 0.2, at=1.0), label("r1", "m-small", 0.4, at=2.0),  # re-rated
        label("r1", "m-large", 1.0, source="judge"),
        label("r2", "m-small", 1.0, source="judge"),
        label("x1", "m-small", 1.0, tenant="globex"),
    ])
    counts = await store.counts("acme")
    assert (counts.requests, counts.captured) == (3, 2)
    assert dict(counts.labels_by_model) == {"m-small": 2, "m-large": 1}
    assert dict(counts.labels_by_route) == {"auto": 2, "router:cheapest": 1}
    assert dict(counts.labels_by_source) == {"feedback": 1, "judge": 2}
    everyone = await store.counts(None)
    assert everyone.requests == 4 and sum(everyone.labels_by_model.values()) == 4


async def test_a_label_before_its_request_counts_under_an_unknown_route(
        store: RecordStore) -> None:
    await store.write_labels([label("later")])
    assert dict((await store.counts("acme")).labels_by_route) == {"?": 1}
    await store.write_requests([request("later")])
    assert dict((await store.counts("acme")).labels_by_route) == {"auto": 1}


async def test_text_with_quotes_and_unicode_survives(store: RecordStore) -> None:
    record = replace(request("r'1"), prompt="¿Qué es \"2+2\"? 🤔 -- ; DROP TABLE labels;",
                     answer="cuatro\x00?" .replace("\x00", ""))
    await store.write_requests([record])
    assert await store.get_request("acme", "r'1") == record
