from __future__ import annotations

import asyncio
import math

from gateway.learning.table import outcomes_to_routing_table
from gateway.records.base import Label, RequestRecord
from gateway.records.memory import MemoryRecordStore


def test_outcomes_become_a_routing_table_with_unknowns_as_nan() -> None:
    store = MemoryRecordStore()

    async def fill() -> None:
        await store.write_requests([
            RequestRecord("r1", "acme", 1.0, "auto", "a", prompt="p1", cost_usd=0.1),
            RequestRecord("r1:shadow:0", "acme", 1.1, "auto", "b", purpose="learning",
                          parent_id="r1", cost_usd=0.3),
            RequestRecord("r2", "acme", 2.0, "auto", "b", prompt="p2", cost_usd=0.2),
            RequestRecord("r3", "acme", 3.0, "auto", "a", prompt="never labelled"),
        ])
        await store.write_labels([
            Label("r1", "acme", "a", 1.0, "judge", 5.0),
            Label("r1", "acme", "b", 0.0, "judge", 5.0),
            Label("r2", "acme", "b", 0.5, "judge", 6.0),
            Label("r2", "acme", "b", 1.0, "feedback", 4.0),  # the client's rating wins
        ])

    asyncio.run(fill())
    table = outcomes_to_routing_table(asyncio.run(store.outcomes("acme")))
    assert table.prompts == ["p1", "p2"] and table.models == ["a", "b"]
    assert table.scores[0].tolist() == [1.0, 0.0]
    assert math.isnan(table.scores[1, 0]) and table.scores[1, 1] == 1.0
    assert table.costs[0].tolist() == [0.1, 0.3]
    assert table.eval_names == ["auto", "auto"]
