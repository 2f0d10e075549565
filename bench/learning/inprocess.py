"""The learning loop's labelling, driven in process (for N beyond what HTTP allows here).

For each of the first N TRAIN prompts, a `rate` share is shadowed: every model's recorded
answer is graded by the simulated judge (gateway/simulator/judge.py) through the real rubric
prompt and grade parser; requests and labels go through a MemoryRecordStore, and its
outcomes become the routing table with gateway.learning.table, as on the HTTP path.
"""

from __future__ import annotations

import asyncio
import random
import time

from gateway.learning.judge import judge_grader
from gateway.learning.pick import ShadowPicker
from gateway.learning.rubrics import parse_grade, rubric
from gateway.learning.table import outcomes_to_routing_table
from gateway.records.base import Label, RequestRecord
from gateway.records.memory import MemoryRecordStore
from gateway.simulator.judge import SIMULATED_JUDGE, SimulatedJudge
from gateway.simulator.recordings import RecordingBook
from gateway.simulator.routing_data import answer_text, recordings
from routers.datasets.format import RoutingDataset


def judged_tables(pool: RoutingDataset, sizes: list[int], rate: float, eps: float,
                  seed: int = 0, k: int | None = None,
                  spend: dict[int, tuple[float, float]] | None = None,
                  ) -> dict[int, RoutingDataset]:
    """The routing table after each N in `sizes` prompts at shadow `rate`, judge ε.

    The served model is the pool's first; a shadowed prompt asks `k` other models (the
    least-labelled first, gateway.learning.pick; None: all of them) and grades those answers
    and the served one. `spend`, when given, receives (traffic $, shadow $) per N (the judge's
    own calls are not priced here; the HTTP path measures them).
    The first N prompts of a longer run are the run of N (same seeded sampling, same
    seeded judge), so one pass over max(sizes) serves every N."""
    n = max(sizes)
    judge = SimulatedJudge(RecordingBook(recordings(pool)), flip=eps, seed=seed)
    prompt_rubric = rubric("v1")
    rng = random.Random(seed)
    picker = ShadowPicker(seed)
    traffic = shadow = 0.0
    store = MemoryRecordStore()
    requests: list[RequestRecord] = []
    labels: list[Label] = []
    for i in range(min(n, len(pool))):
        if spend is not None and i in sizes:
            spend[i] = (traffic, shadow)
        traffic += float(pool.costs[i, 0])
        if rng.random() >= rate:
            continue
        asked = set(picker.pick("bench", "auto", pool.models[0], pool.models[1:], k))
        rid = f"r{i}"
        requests.append(RequestRecord(rid, "bench", float(i), "auto", pool.models[0],
                                      prompt=pool.prompts[i],
                                      cost_usd=float(pool.costs[i, 0])))
        for j, model in enumerate(pool.models):
            if j and model not in asked:
                continue
            if j:
                shadow += float(pool.costs[i, j])
                requests.append(RequestRecord(f"{rid}:shadow:{j}", "bench", float(i), "auto",
                                              model, purpose="learning", parent_id=rid,
                                              cost_usd=float(pool.costs[i, j])))
            reply = judge.reply(prompt_rubric.messages(
                pool.prompts[i], answer_text(pool, model, i))[-1]["content"])
            score = parse_grade(reply)
            if score is not None:
                labels.append(Label(rid, "bench", model, score, "judge", time.time(),
                                    grader=judge_grader(SIMULATED_JUDGE, "v1")))

    if spend is not None:
        spend[min(n, len(pool))] = (traffic, shadow)

    async def collect() -> dict[int, RoutingDataset]:
        await store.write_requests(requests)
        await store.write_labels(labels)
        outcomes = await store.outcomes("bench")
        return {size: outcomes_to_routing_table([o for o in outcomes if o.created_at < size],
                                                pool.models) for size in sizes}

    return asyncio.run(collect())
