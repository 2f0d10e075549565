"""Retraining from records at scale: 10,000 captured prompts x 11 models, k-NN and cascade.

    .venv/bin/python bench/learning/retrain_from_records.py                 # 10k x 11
    .venv/bin/python bench/learning/retrain_from_records.py --prompts 2000 --only cascade

1. A real SQLite records store is filled as a gateway with learning on would leave it: per
   captured prompt one traffic record (the served answer, by a seeded random model), one
   shadow record with its answer per other model, one judge call, and a judge label per
   model with a recorded outcome. The data are RouterBench's TRAIN files (../shared/data/
   routing/routerbench: 2,225 distinct prompts, 11 models, recorded answers and costs). To
   reach 10,000 captured prompts the 2,225 are taken once each, then resampled (seeded, with
   replacement) with a marker "(captured copy k)" that makes every prompt text distinct, as
   paraphrased or repeated traffic would be: every prompt must be embedded (the dominant
   cost), while the answers of a copy repeat its original's (embedded once).
2. `costroute train knn --from-records` and `costroute train cascade --from-records` run as
   the user runs them (`python -m gateway.cli train ...`, MiniLM, default options) in a
   child process each. Each stderr line (the commands' Rich phases) is timestamped as it
   arrives, giving the phases' durations; wall time includes start-up, reading the store,
   converting, embedding, fitting, writing the version and its held-out replay. The load
   average is sampled every 5 s while each runs (the machine is shared).
3. Each command runs cold (no text vectors in the store: every prompt is embedded) and warm
   (`--auto-share S`, default 1.0: the vectors of a seeded share S of the captured prompts
   are in the store, as the gateway's capture leaves them for the traffic its `auto` k-NN
   route embedded), each on its own copy of the filled store. Answers' vectors are never
   captured: a warm cascade still embeds the answers it needs (those of the rows choosing
   its scorer, and all of them only if it keeps the full scorer) and stores them. With
   `--rerun`, a third run starts from every vector the cold run stored, prompts and
   answers: the next scheduled retrain of the same traffic.

Results: bench/results/learning/retrain_from_records.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.learning.paths import DATA, OUT
from bench.machine import machine
from gateway.records.base import Label, RequestRecord
from gateway.records.sqlite import SQLiteRecordStore
from routers.datasets import load_routerbench
from routers.datasets.format import RoutingDataset
from routers.datasets.text import final_question

TENANT = "bench"
JUDGE = "costroute-simulated-judge"
WRITE_BATCH = 5000


def captured_rows(ds: RoutingDataset, n: int, seed: int) -> list[tuple[int, int]]:
    """(row of `ds`, copy number) for `n` captured prompts: every row once, then resampled."""
    rng = np.random.default_rng(seed)
    rows = [(int(i), 0) for i in rng.permutation(len(ds))[:n]]
    copies = [0] * len(ds)
    for i in rng.integers(0, len(ds), max(0, n - len(ds))):
        copies[int(i)] += 1
        rows.append((int(i), copies[int(i)]))
    return rows


def captured_copy(prompt: str, copy: int) -> str:
    """A distinct text for copy `copy` of `prompt` that embeds like the original.

    The marker goes in front of the final question. Appended after a few-shot prompt's open
    answer slot it would stop `final_question` from cutting the answered examples, so every
    copy would embed the whole few-shot prompt (median 1,458 characters against the
    originals' 210): a heavier load than the traffic it stands for.
    """
    tail = final_question(prompt)
    at = prompt.rstrip().rfind(tail) if tail and tail != prompt else -1
    if at < 0:
        return f"{prompt}\n(captured copy {copy})"
    return f"{prompt[:at]}(captured copy {copy}) {prompt[at:]}"


def records_of(ds: RoutingDataset, rows: list[tuple[int, int]],
               seed: int) -> tuple[list[RequestRecord], list[Label]]:
    rng = np.random.default_rng(seed + 1)
    records: list[RequestRecord] = []
    labels: list[Label] = []
    for n, (i, copy) in enumerate(rows):
        rid = f"bench-{n:06d}"
        at = 1_700_000_000.0 + n
        prompt = ds.prompts[i] if copy == 0 else captured_copy(ds.prompts[i], copy)
        served = int(rng.integers(len(ds.models)))
        for j, model in enumerate(ds.models):
            shadow = j != served
            records.append(RequestRecord(
                request_id=f"{rid}:shadow:{j}" if shadow else rid, tenant=TENANT,
                created_at=at + 0.01 * j, route="auto", model=model,
                purpose="learning" if shadow else "traffic", parent_id=rid if shadow else None,
                reason="shadow" if shadow else "table", prompt=None if shadow else prompt,
                answer=ds.responses[model][i], cost_usd=float(ds.costs[i, j])))
            if not math.isnan(ds.scores[i, j]):
                labels.append(Label(request_id=rid, tenant=TENANT, model=model,
                                    score=float(ds.scores[i, j]), source="judge",
                                    created_at=at + 1, grader=f"judge:{JUDGE}:v1"))
        records.append(RequestRecord(
            request_id=f"{rid}:judge:0", tenant=TENANT, created_at=at + 0.5, route="auto",
            model=JUDGE, purpose="learning", parent_id=rid, reason="judge",
            answer="Grade: 1", cost_usd=0.00002))
    return records, labels


def fill_store(path: Path, records: list[RequestRecord], labels: list[Label]) -> float:
    async def write() -> None:
        store = SQLiteRecordStore(path)
        try:
            for start in range(0, len(records), WRITE_BATCH):
                await store.write_requests(records[start:start + WRITE_BATCH])
            for start in range(0, len(labels), WRITE_BATCH):
                await store.write_labels(labels[start:start + WRITE_BATCH])
        finally:
            await store.aclose()

    started = time.perf_counter()
    asyncio.run(write())
    return time.perf_counter() - started


def run_timed(args: list[str], log: Path) -> dict[str, Any]:
    """Runs one command; its wall time, phases (stderr lines, timestamped) and load."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "COLUMNS": "120", "TERM": "dumb"}
    load: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(5.0):
            load.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    before = os.getloadavg()
    started = time.perf_counter()
    lines: list[tuple[float, str]] = []
    sampler.start()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", *args], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            at = time.perf_counter() - started
            out.write(f"{at:8.1f}s  {line}")
            out.flush()
            lines.append((at, line.rstrip()))
        code = proc.wait()
    wall = time.perf_counter() - started
    done.set()
    after = os.getloadavg()
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed ({code}); see {log}")
    return {"command": "costroute " + " ".join(args), "wall_s": round(wall, 1),
            "phases": phases(lines, wall), "output": [text for _, text in lines],
            "load_before": [round(x, 2) for x in before],
            "load_after": [round(x, 2) for x in after],
            "load_mean_1m": round(float(np.mean(load)), 2) if load else None,
            "load_max_1m": round(float(np.max(load)), 2) if load else None}


def is_phase(text: str) -> bool:
    """A line saying what the command does now (not a bar, a count, or a model loader's)."""
    return bool(text.strip()) and not text.startswith(" ") and "━" not in text \
        and "it/s]" not in text


def phases_from_log(log: Path, wall: float) -> list[dict[str, Any]]:
    """`phases` of a command's timestamped log ("  12.3s  line")."""
    lines = []
    for raw in log.read_text().splitlines():
        stamp, _, text = raw.partition("s  ")
        lines.append((float(stamp), text))
    return phases(lines, wall)


def phases(lines: list[tuple[float, str]], wall: float) -> list[dict[str, Any]]:
    """Each phase line (what the command says it is doing) and how long until the next."""
    marks = [(at, text.strip()) for at, text in lines if is_phase(text)]
    out = []
    for k, (at, text) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else wall
        out.append({"phase": text[:110], "start_s": round(at, 1), "seconds": round(end - at, 1)})
    return out


def seed_vectors(source: Path, target: Path, prompts: list[str], share: float,
                 encoder: str, seed: int) -> int:
    """Copies into `target` the stored vectors of a seeded `share` of the captured `prompts`,
    as the gateway's capture leaves them for the traffic its `auto` k-NN route embedded."""
    from routers.datasets.text import embedding_text

    rng = np.random.default_rng(seed + 2)
    chosen = [p for p in prompts if rng.random() < share]
    texts = [embedding_text(p) for p in chosen]
    copied, missing = copy_vectors(source, target, texts, encoder)
    # The cascade embeds only the prompts it can use (every kept model labelled), so its
    # cold run may leave a few without a vector; they are never embedded anyway.
    if missing:
        print(f"  {missing} chosen prompts have no vector in {source}", flush=True)
    return copied


def copy_vectors(source: Path, target: Path, texts: list[str], encoder: str) -> tuple[int, int]:
    """Copies the `encoder` vectors of `texts` from store `source` into store `target`;
    (how many were copied, how many of the distinct texts `source` lacks)."""
    from gateway.artifacts.stored_vectors import read_stored
    from gateway.records.vectors import text_vector
    from routers.datasets.text import text_hash

    async def copy() -> tuple[int, int]:
        src, dst = SQLiteRecordStore(source), SQLiteRecordStore(target)
        try:
            found = await read_stored(src, encoder, texts)
            rows = [text_vector(k, encoder, v) for k, v in found.items()]
            for start in range(0, len(rows), WRITE_BATCH):
                await dst.write_vectors(rows[start:start + WRITE_BATCH])
            return len(rows), len({text_hash(t) for t in texts} - set(found))
        finally:
            await src.aclose()
            await dst.aclose()

    return asyncio.run(copy())


def stored_texts(records: list[RequestRecord]) -> list[str]:
    """Every text a retrain may embed: the captured prompts and the recorded answers."""
    from routers.cascade.features import answer_text
    from routers.datasets.text import embedding_text

    return ([embedding_text(r.prompt) for r in records if r.prompt is not None]
            + [answer_text(r.answer) for r in records if r.answer is not None])


def vectors_note(share: float | None, seeded: int) -> str:
    """What the store held at the start of a run, for the report."""
    if share is None:
        return (f"{seeded:,} prompt and answer vectors the cold retrain stored (the next "
                "retrain of the same traffic)")
    if share == 0:
        return "none (cold; share routed by auto 0.0)"
    return f"{seeded:,} prompt vectors as capture leaves them (share routed by auto {share:g})"


def write_config(work: Path, name: str, db: Path, models: list[str]) -> Path:
    config = work / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "models": [{"name": m, "upstream": {"base_url": "http://127.0.0.1:9/v1"}}
                   for m in models],
        "routes": {"auto": {"router": "table"}, "router:cascade": {"router": "table"}},
        "records": {"kind": "sqlite", "path": str(db)},
        "artifacts": {"dir": str(work / f"{name}-registry")}}))
    return config


def copy_store(source: Path, target: Path) -> None:
    """A copy of a closed SQLite store (its WAL was checkpointed when the last handle closed)."""
    shutil.copyfile(source, target)


def report_md(result: dict[str, Any]) -> str:
    lines = [
        (f"# Retraining from records: {result['data']['captured_prompts']:,} captured prompts"
         f" x {len(result['data']['models'])} models"),
        "",
        ("`bench/learning/retrain_from_records.py` "
         f"(`{' '.join(result['argv'])}`); {result['machine']}."),
        "",
        f"Data: {result['data']['how']}",
        "",
        (f"Store: SQLite, {result['store']['requests']:,} request records and "
         f"{result['store']['labels']:,} labels written in {result['store']['write_s']} s "
         f"({result['store']['size_mib']} MiB); not part of the retraining times below."),
        "",
        f"Runs: {result['runs_how']}",
        "",
        ("| command | stored vectors at the start | wall | load avg (1 min) during run: "
         "mean / max |"),
        "|---|---|---|---|",
    ]
    for name, run in result["runs"].items():
        lines.append(f"| `train {run['kind']} --from-records` | {run['vectors']} | "
                     f"{run['wall_s']} s ({run['wall_s'] / 60:.1f} min) | "
                     f"{run['load_mean_1m']} / {run['load_max_1m']} |")
    for name, run in result["runs"].items():
        lines += ["", f"## {name}: train {run['kind']} --from-records, {run['vectors']}", "",
                  f"`{run['command']}`", "",
                  "| from | phase (as the command prints it) | seconds |", "|---|---|---|"]
        for p in run["phases"]:
            text = p["phase"].replace("|", "/")
            lines.append(f"| {p['start_s']} s | {text} | {p['seconds']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["knn", "cascade"], default=None)
    parser.add_argument("--auto-share", type=float, nargs="*", default=[1.0],
                        help="warm runs: share of captured prompts routed by the `auto` k-NN "
                        "route, whose vectors capture stored (the cold run is share 0.0; "
                        "none given: no warm run)")
    parser.add_argument("--vectors-from", type=Path, default=None,
                        help="a store left by an earlier cold run of the same --prompts and "
                        "--seed (every prompt's vector): skip the cold runs, seed from it")
    parser.add_argument("--rerun", action="store_true",
                        help="also retrain on the store with every vector the cold run stored "
                        "(prompts and answers): the next retrain of the same traffic")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--stem", default=None, help="results file name (without .json/.md)")
    args = parser.parse_args()
    print(machine(), flush=True)
    ds = load_routerbench(DATA)
    rows = captured_rows(ds, args.prompts, args.seed)
    resampled = sum(copy > 0 for _, copy in rows)
    how = (f"RouterBench TRAIN files, {len(ds):,} distinct prompts x {len(ds.models)} models "
           f"with recorded answers; {args.prompts:,} captured prompts = "
           f"{args.prompts - resampled:,} originals + {resampled:,} seeded resamples with a "
           "'(captured copy k)' marker before the final question (distinct prompt texts, their original's answers, "
           "scores and costs). Near-copies fall on both sides of the held-out hash, so the "
           "held-out figures at this size flatter both routers; this benchmark is about time.")
    print(how, flush=True)
    work = Path(tempfile.mkdtemp(prefix="retrain-records-"))
    base = work / "records.sqlite3"
    records, labels = records_of(ds, rows, args.seed)
    write_s = fill_store(base, records, labels)
    prompts = [r.prompt for r in records if r.prompt is not None]
    print(f"store: {len(records):,} requests, {len(labels):,} labels written in {write_s:.1f} s",
          flush=True)
    encoder = "hashing" if args.embedder == "hashing" else "all-MiniLM-L6-v2"
    runs: dict[str, Any] = {}
    vectors_from: Path | None = args.vectors_from  # text vectors of every prompt
    for kind in ("knn", "cascade"):
        if args.only and args.only != kind:
            continue
        plan: list[tuple[str, float | None]] = [] if args.vectors_from else [("cold", 0.0)]
        plan += [(f"warm{share:g}", share) for share in args.auto_share]
        plan += [("rerun", None)] if args.rerun else []
        for mode, share in plan:
            name = f"{kind}-{mode}"
            db = work / f"{name}.sqlite3"
            copy_store(base, db)
            seeded = 0
            if share is None:  # the next retrain finds what the cold one stored
                assert vectors_from is not None, "a cold run comes first"
                seeded = copy_vectors(vectors_from, db, stored_texts(records), encoder)[0]
            elif share > 0:
                assert vectors_from is not None, "a cold run comes first"
                seeded = seed_vectors(vectors_from, db, prompts, share, encoder, args.seed)
            config = write_config(work, name, db, list(ds.models))
            route = ["--route", "router:cascade"] if kind == "cascade" else []
            print(f"running {name}: {seeded:,} stored vectors (log: {work / name}.log)",
                  flush=True)
            run = run_timed(["train", kind, "--from-records", "--tenant", TENANT, "--config",
                             str(config), "--embedder", args.embedder, *route],
                            work / f"{name}.log")
            run.update(kind=kind, auto_share=share, seeded_vectors=seeded,
                       vectors=vectors_note(share, seeded))
            runs[name] = run
            if share == 0:
                vectors_from = db  # the cold run stored every vector it computed
            print(f"  {run['wall_s']} s, load mean {run['load_mean_1m']}", flush=True)
    result = {
        "argv": sys.argv[1:] or ["(defaults)"], "machine": machine(),
        "data": {"how": how, "distinct_prompts": len(ds), "captured_prompts": args.prompts,
                 "resampled": resampled, "models": list(ds.models)},
        "store": {"requests": len(records), "labels": len(labels), "write_s": round(write_s, 1),
                  "size_mib": round(base.stat().st_size / 2**20, 1)},
        "runs_how": ("each run on its own copy of the filled store. Cold: no text vectors "
                     "stored (as traffic no route embedded, share 0.0). Warm: before the run, "
                     "the vectors of a seeded share of the captured prompts are stored as the "
                     "gateway's capture stores them for requests its `auto` k-NN route embedded "
                     "(copied from the cold run's write-back, bit-identical); answers' vectors "
                     "are never captured. Rerun: every vector the cold run stored, prompts and "
                     "answers (the next retrain of the same traffic). Every run stores the "
                     "vectors it computed."),
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.stem or "retrain_from_records" + (
        "" if args.prompts == 10_000 else f"_{args.prompts}") + (
        f"_{args.only}" if args.only else "") + ("_warm" if args.vectors_from else "")
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(report_md(result))
    print(f"wrote {args.out / stem}.json/.md; work files in {work}", flush=True)


if __name__ == "__main__":
    main()
