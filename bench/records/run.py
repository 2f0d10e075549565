"""The records store: outbox drain throughput, capture cost, and the training-data queries.

For SQLite (a file) and PostgreSQL (a server started from the installed binaries, as the
tests do): N captured prompts and 11 labels each go through the RecordOutbox, timed until
drained; then `outcomes()` (what retraining reads), `counts()` (`costroute learn status`)
and `get_request` (each feedback call) are timed. `capture_answer` is timed in-process:
the only records work on a request's path.
Run: .venv/bin/python bench/records/run.py [--prompts 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from gateway.content_log import ContentLogger
from gateway.context import RequestContext
from gateway.records.base import Label, RecordStore, RequestRecord
from gateway.records.capture import capture_answer
from gateway.records.memory import MemoryRecordStore
from gateway.records.outbox import RecordOutbox
from gateway.records.postgres import PostgresRecordStore
from gateway.records.sqlite import SQLiteRecordStore
from gateway.tenants.config import LearningConfig, TenantConfig
from tests.postgres_server import PostgresServer, postgres_bin_dir

MODELS = [f"model-{i:02d}" for i in range(11)]
PROMPT = ("Summarise the following report for a busy reader, keeping every figure. " * 20)[:1500]


def items(prompts: int) -> list[RequestRecord | Label]:
    out: list[RequestRecord | Label] = []
    for i in range(prompts):
        rid = f"req_{i:08d}"
        out.append(RequestRecord(request_id=rid, tenant="acme", created_at=1e9 + i, route="auto",
                                 model=MODELS[i % 11], prompt=f"{i} {PROMPT}", answer="An answer.",
                                 cost_usd=0.001, prompt_tokens=300, completion_tokens=40,
                                 candidates=tuple({"model": m, "expected_cost_usd": 0.001}
                                                  for m in MODELS)))
        out += [Label(request_id=rid, tenant="acme", model=m, score=(i + j) % 2, source="judge",
                      created_at=1e9 + i + 0.5, grader="judge:sim:v1")
                for j, m in enumerate(MODELS)]
    return out


async def timed(call: Any, repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out


async def bench_store(name: str, store: RecordStore, prompts: int) -> dict[str, Any]:
    batch = items(prompts)
    outbox = RecordOutbox(store, capacity=len(batch) + 1, batch_size=512)
    print(f"{name}: draining {len(batch)} records through the outbox ...", flush=True)
    started = time.perf_counter()
    for item in batch:
        (outbox.add_request if isinstance(item, RequestRecord) else outbox.add_label)(item)
    queued = time.perf_counter() - started
    assert await outbox.flush(600)
    drained = time.perf_counter() - started
    await outbox.aclose()
    print(f"{name}: outcomes(), counts(), get_request ...", flush=True)
    outcomes = await timed(lambda: store.outcomes("acme"), 3)
    found = await store.outcomes("acme")
    assert len(found) == prompts and len(found[0].scores) == 11
    counts = await timed(lambda: store.counts("acme"), 3)
    lookups = []
    for i in range(0, prompts, max(1, prompts // 300)):
        lookups += await timed(lambda i=i: store.get_request("acme", f"req_{i:08d}"))
    await store.aclose()
    lookups.sort()
    return {
        "records": len(batch), "queue_us_per_record": round(queued / len(batch) * 1e6, 2),
        "drain_records_per_s": round(len(batch) / drained),
        "outcomes_s": round(min(outcomes), 3), "counts_s": round(min(counts), 3),
        "get_request_p50_ms": round(statistics.median(lookups) * 1e3, 3),
        "get_request_p99_ms": round(lookups[int(len(lookups) * 0.99) - 1] * 1e3, 3),
    }


async def bench_capture(calls: int = 5000) -> dict[str, Any]:
    outbox = RecordOutbox(MemoryRecordStore(), capacity=calls + 1)
    gateway: Any = SimpleNamespace(records=outbox, content_log=ContentLogger(["sk-secret-123"]))
    tenant = TenantConfig(name="acme", key_sha256=["0" * 64], learning=LearningConfig(capture=True))
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    answer = "The report says revenue grew 12% to $4.1M; mail cfo@example.com. " * 8
    samples = []
    for i in range(calls):
        ctx = RequestContext(f"req_{i}", tenant, route="auto")
        started = time.perf_counter()
        capture_answer(gateway, ctx, messages, answer, model="m", cost_usd=0.001,
                       prompt_tokens=300, completion_tokens=40, reason="table")
        samples.append(time.perf_counter() - started)
        if i % 64 == 63:
            await asyncio.sleep(0)  # as between requests: the drainer gets its turns
    started = time.perf_counter()
    assert await outbox.flush(600)
    drained = time.perf_counter() - started
    await outbox.aclose()
    samples.sort()
    stored = await outbox.store.get_request("acme", "req_0")
    assert stored is not None and "[REDACTED:email]" in (stored.answer or "")
    # On the request's path: capture_answer. After the answer: the drainer builds and
    # redacts each record (the rest of the backlog, timed here, plus its turns above).
    return {"calls": calls, "prompt_chars": len(PROMPT), "answer_chars": len(answer),
            "request_path_p50_us": round(statistics.median(samples) * 1e6, 1),
            "request_path_p99_us": round(samples[int(calls * 0.99) - 1] * 1e6, 1),
            "drain_backlog_s": round(drained, 3)}


async def main_async(prompts: int) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "prompts": prompts, "labels_per_prompt": 11}
    print("capture_answer on the request path ...", flush=True)
    results["capture"] = await bench_capture()
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = await bench_store("sqlite", SQLiteRecordStore(Path(tmp) / "r.db"),
                                              prompts)
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        results["postgres"] = "skipped: no initdb/postgres binaries"
    else:
        server = PostgresServer(bin_dir)
        try:
            server.start()
            results["postgres"] = await bench_store(
                "postgres", PostgresRecordStore(server.create_database()), prompts)
        finally:
            server.remove()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(main_async(args.prompts))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
