"""`costroute eval replay` end to end on the hand-made dataset, and its error messages."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.cli import app
from eval.precomputed import write_precomputed
from tests.eval.tiny import CHEAP, STRONG, tiny_csv_rows

runner = CliRunner()


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def replay(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["replay", "--quiet", "--bootstrap", "20", *args])
    return result.exit_code, result.output


def test_replay_writes_json_markdown_and_plots(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "tiny.csv", tiny_csv_rows())
    write_precomputed(
        tmp_path / "router",
        "rec-router",
        [
            {"prompt": p, "knob": 0.0, "model": m}
            for p, m in zip(["p0", "p1", "p2", "p3"], [CHEAP, STRONG, STRONG, CHEAP])
        ],
    )
    code, out = replay(
        "--data", str(data), "--router", str(tmp_path / "router"), "--out", str(tmp_path / "rep")
    )
    assert code == 0, out
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    (dataset,) = report["datasets"]
    cands = {c["name"]: c for c in dataset["pooled"]["candidates"]}
    # cheap: .5 at $1 -> $2 per pass; the recorded router is the oracle here: 1.0 at $5.5.
    assert cands[CHEAP]["accuracy"] == 0.5 and cands[CHEAP]["cost_of_pass_usd"] == 2.0
    assert cands["rec-router"]["kind"] == "router"
    assert cands["rec-router"]["points"] == [
        {"knob": 0.0, "mean_cost_usd": 5.5, "accuracy": 1.0, "strong_fraction": 0.5}
    ]
    assert dataset["pooled"]["frontier"]["cost_of_pass_usd"] == 5.5
    assert {c["kind"] for c in cands.values()} == {"model", "oracle", "baseline", "router"}
    assert [t["task"] for t in dataset["tasks"]] == ["a", "b"]
    files = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert files == [
        "report.json",
        "report.md",
        "tiny_cost_of_pass.png",
        "tiny_cost_vs_accuracy.png",
        "tiny_frontier.png",
    ]
    assert "rec-router" in (tmp_path / "rep" / "report.md").read_text()


def test_infinite_cost_of_pass_is_written_as_inf_and_shown_as_infinity(tmp_path: Path) -> None:
    rows = tiny_csv_rows()
    for row in rows:
        row[CHEAP] = 0.0
    data = write_csv(tmp_path / "zero.csv", rows)
    code, out = replay("--data", str(data), "--out", str(tmp_path / "rep"), "--no-plots")
    assert code == 0, out
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    cands = {c["name"]: c for c in report["datasets"][0]["pooled"]["candidates"]}
    assert cands[CHEAP]["cost_of_pass_usd"] == "inf"
    assert "| cheap | model | 0.00%" in (tmp_path / "rep" / "report.md").read_text()
    assert "∞" in (tmp_path / "rep" / "report.md").read_text()


def test_language_column_gives_a_cost_premium(tmp_path: Path) -> None:
    rows = tiny_csv_rows()
    for row, lang in zip(rows, ["en", "en", "de", "de"]):
        row["language"] = lang
    rows[2][f"{CHEAP}|total_cost"] = rows[3][f"{CHEAP}|total_cost"] = 3.0
    code, out = replay(
        "--data",
        str(write_csv(tmp_path / "l.csv", rows)),
        "--out",
        str(tmp_path / "rep"),
        "--no-plots",
    )
    assert code == 0, out
    pooled = json.loads((tmp_path / "rep" / "report.json").read_text())["datasets"][0]["pooled"]
    cheap_de = next(
        p for p in pooled["language_premium"] if p["candidate"] == CHEAP and p["language"] == "de"
    )
    assert cheap_de["cost_premium"] == 3.0  # $3 vs $1 per prompt


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda rows: [{k: v for k, v in r.items() if k != "prompt"} for r in rows],
            "no 'prompt' column",
        ),
        (
            lambda rows: [{k: v for k, v in r.items() if "total_cost" not in k} for r in rows],
            "price",
        ),
        (lambda rows: [{**r, CHEAP: "maybe"} for r in rows], "is not a number"),
    ],
)
def test_bad_data_exits_2_with_the_problem_named(
    tmp_path: Path, mutate: object, message: str
) -> None:
    data = write_csv(tmp_path / "bad.csv", mutate(tiny_csv_rows()))  # type: ignore[operator]
    code, out = replay("--data", str(data), "--out", str(tmp_path / "rep"))
    assert code == 2
    assert message in out and "Traceback" not in out


def test_missing_paths_exit_2(tmp_path: Path) -> None:
    code, out = replay("--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r"))
    assert code == 2 and "nope.csv: no such file or folder" in out
    data = write_csv(tmp_path / "tiny.csv", tiny_csv_rows())
    code, out = replay(
        "--data", str(data), "--router", str(tmp_path / "none"), "--out", str(tmp_path / "r")
    )
    assert code == 2 and "none: no such directory" in out
    code, out = replay(
        "--data",
        "routellm-mmlu",
        "--shared-data",
        str(tmp_path / "x"),
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 2 and "set --shared-data" in out


def test_a_router_that_fits_no_dataset_is_an_error(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "tiny.csv", tiny_csv_rows())
    write_precomputed(
        tmp_path / "router",
        "other",
        [{"prompt": p, "model": "gpt-9"} for p in ["p0", "p1", "p2", "p3"]],
    )
    code, out = replay(
        "--data", str(data), "--router", str(tmp_path / "router"), "--out", str(tmp_path / "r")
    )
    assert code == 2 and "fits no dataset" in out and "gpt-9" in out


def test_help_is_available() -> None:
    assert runner.invoke(app, ["replay", "--help"]).exit_code == 0
    assert runner.invoke(app, ["live", "--help"]).exit_code == 0
