"""`RecordStore.answers`: every store lists the served and shadow answers of captured prompts
alike (in-process, SQLite on a real file, real PostgreSQL)."""

from __future__ import annotations

from gateway.records.base import RecordStore
from tests.gateway.records.samples import request


async def test_answers_are_the_served_and_shadow_answers_of_captured_prompts(
        store: RecordStore) -> None:
    await store.write_requests([
        request("r1", at=1.0, model="m-small"),
        request("s1", at=1.5, model="m-large", purpose="learning", parent_id="r1", prompt=None),
        # A judge's grade of r1 is a learning record too, but not an answer.
        request("j1", at=1.6, model="m-judge", purpose="learning", parent_id="r1", prompt=None,
                reason="judge"),
        request("r2", at=2.0, model="m-large"),
        request("r3", at=3.0, prompt=None),  # not captured: its answers are not listed
        request("s3", at=3.5, model="m-large", purpose="learning", parent_id="r3", prompt=None),
        request("r4", at=4.0, tenant="globex"),
    ])
    found = await store.answers("acme")
    assert [(a.request_id, a.model, a.answer) for a in found] == [
        ("r1", "m-small", "4"), ("r1", "m-large", "4"), ("r2", "m-large", "4")]
    assert [a.created_at for a in found] == [1.0, 1.5, 2.0]
    assert [a.request_id for a in await store.answers("acme", since=1.8)] == ["r2"]
    assert {a.request_id for a in await store.answers(None)} == {"r1", "r2", "r4"}
    assert await store.answers("nobody") == []


async def test_an_answer_not_kept_is_listed_as_none(store: RecordStore) -> None:
    await store.write_requests([
        request("r1", answer=None),
        request("s1", model="m-large", purpose="learning", parent_id="r1", prompt=None,
                answer="[REDACTED:email] wrote it"),
    ])
    found = {a.model: a.answer for a in await store.answers("acme")}
    assert found == {"m-small": None, "m-large": "[REDACTED:email] wrote it"}


async def test_a_judge_calls_cost_is_not_taken_for_the_judged_models_answer(
        store: RecordStore) -> None:
    """The judge may be a pool model; its grading call must not stand for that model's answer."""
    from dataclasses import replace

    from tests.gateway.records.samples import label

    await store.write_requests([
        request("r1", model="m-small"),
        replace(request("s1", model="m-large", purpose="learning", parent_id="r1", prompt=None),
                cost_usd=0.01),
        replace(request("j1", model="m-large", purpose="learning", parent_id="r1", prompt=None,
                        reason="judge"), cost_usd=0.0002),
    ])
    await store.write_labels([label("r1", "m-small"), label("r1", "m-large", source="judge")])
    (outcome,) = await store.outcomes("acme")
    assert outcome.costs == {"m-small": 0.001, "m-large": 0.01}
