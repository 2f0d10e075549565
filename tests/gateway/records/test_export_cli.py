"""`costroute learn export`: labelled traffic from a real SQLite records store as a
RouterBench-format file that the offline tools load back."""

from __future__ import annotations

import asyncio
import csv
import json
import math
from pathlib import Path

from typer.testing import CliRunner

from gateway.records.cli import app
from gateway.records.sqlite import SQLiteRecordStore
from routers.datasets.records import is_held_out
from routers.datasets.routerbench import RESPONSE, load_routerbench
from tests.gateway.records.samples import label, request
from tests.gateway.records.test_learn_status_cli import _config

IDS = [f"req_{i:02d}" for i in range(12)]


def _fill(path: Path) -> None:
    async def run() -> None:
        store = SQLiteRecordStore(path)
        served = [request(rid, at=1000.0 + i, prompt=f"question {i}", answer=f"small {i}")
                  for i, rid in enumerate(IDS)]
        served[1] = request(IDS[1], at=1001.0, prompt="question 1",
                            answer="mail me at [REDACTED:email]")
        shadows = [request(f"{rid}:shadow", at=1000.5 + i, model="m-large", purpose="learning",
                           parent_id=rid, prompt=f"question {i}", answer=f"large {i}")
                   for i, rid in enumerate(IDS[:6])]
        await store.write_requests([*served, *shadows,
                                    request("unlabelled", at=2000.0, prompt="nobody rated")])
        await store.write_labels(
            [label(rid, "m-small", score=i % 2, at=3000.0) for i, rid in enumerate(IDS)]
            + [label(rid, "m-large", score=1.0, source="judge", at=3001.0) for rid in IDS[:6]]
            + [label(IDS[0], "m-small", score=0.0, source="feedback", at=3002.0,
                     metric="helpful")])
        await store.aclose()

    asyncio.run(run())


def test_export_writes_what_load_routerbench_reads_back(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    out = tmp_path / "traffic.csv"
    result = CliRunner().invoke(app, ["export", "--config", str(config), "--tenant", "acme",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 prompts x 2 models, 18 labels" in result.output
    assert "1 redacted (left out)" in result.output
    ds = load_routerbench(out)
    assert ds.prompts == [f"question {i}" for i in range(12)]
    assert ds.models == ["m-large", "m-small"]
    assert [ds.scores[i, 1] for i in range(12)] == [i % 2 for i in range(12)]
    assert all(ds.scores[i, 0] == 1.0 for i in range(6))
    assert all(math.isnan(ds.scores[i, 0]) for i in range(6, 12))
    assert ds.costs[0, 1] == 0.001 and ds.eval_names[0] == "auto"
    assert ds.responses["m-small"][0] == "small 0"
    assert ds.responses["m-small"][1] is None  # redacted: not what the model said
    assert ds.responses["m-large"][2] == "large 2"
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["sample_id"] for r in rows] == IDS
    assert "m-small" + RESPONSE in rows[0]


def test_export_takes_the_trainers_split_a_metric_and_jsonl(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    out = tmp_path / "held.jsonl"
    held = [rid for rid in IDS if is_held_out(rid)]
    result = CliRunner().invoke(app, ["export", "--config", str(config), "--out", str(out),
                                      "--split", "held-out", "--no-answers"])
    if not held:
        assert result.exit_code == 2 and "nothing to export" in result.output
    else:
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["sample_id"] for r in rows] == held
        assert not any(k.endswith(RESPONSE) for k in rows[0])
    helpful = tmp_path / "helpful.csv"
    result = CliRunner().invoke(app, ["export", "--config", str(config), "--out", str(helpful),
                                      "--metric", "helpful"])
    assert result.exit_code == 0, result.output
    assert load_routerbench(helpful).scores.tolist() == [[0.0]]


def test_export_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite3"
    _fill(db)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    bad = CliRunner().invoke(app, ["export", "--config", str(config), "--out",
                                   str(tmp_path / "x.parquet")])
    assert bad.exit_code == 2 and ".csv or .jsonl" in bad.output
    nobody = CliRunner().invoke(app, ["export", "--config", str(config), "--tenant", "nobody",
                                      "--out", str(tmp_path / "x.csv")])
    assert nobody.exit_code == 2 and "nothing to export" in nobody.output
    split = CliRunner().invoke(app, ["export", "--config", str(config), "--split", "test",
                                     "--out", str(tmp_path / "x.csv")])
    assert split.exit_code == 2 and "one of all, train, held-out" in split.output


def test_an_unwritable_out_path_is_a_clean_error(tmp_path: Path) -> None:
    """No traceback (the smoke run's FileNotFoundError): `error: ...` and exit 2."""
    db = tmp_path / "records.sqlite3"
    _fill(db)
    config = _config(tmp_path, {"kind": "sqlite", "path": str(db)})
    missing = tmp_path / "no" / "such" / "dir" / "x.csv"
    result = CliRunner().invoke(app, ["export", "--config", str(config), "--tenant", "acme",
                                      "--out", str(missing)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {missing}: no such directory: {missing.parent}\n"
    assert isinstance(result.exception, SystemExit)
    taken = tmp_path / "taken.csv"
    taken.mkdir()  # a directory where the file should go: the write itself fails
    result = CliRunner().invoke(app, ["export", "--config", str(config), "--tenant", "acme",
                                      "--out", str(taken)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: cannot write {taken}: ")
    assert "Traceback" not in result.output
