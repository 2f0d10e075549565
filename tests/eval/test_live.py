"""`costroute eval live` against a stand-in simulator on loopback."""

from __future__ import annotations

import csv
import socket
from pathlib import Path

import numpy as np
import yaml
from typer.testing import CliRunner

from eval.cli import app
from routers.datasets import load_routerbench
from tests.eval.chat_simulator import StandInSimulator, serve

runner = CliRunner()
ITEMS = [("Q: gold up 5%\nA:", "up"), ("Q: gold slips\nA:", "down"), ("Q: gold flat\nA:", "none")]


def write_items(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prompt", "answer", "eval_name"])
        writer.writerows([(p, a, "headlines") for p, a in ITEMS])
    return path


def write_prices(path: Path) -> Path:
    # 10 prompt tokens at $1000/1M + 2 completion tokens at $2000/1M = $0.014 per call.
    path.write_text(yaml.safe_dump({"sim-cat": {"input_per_mtok": 1000, "output_per_mtok": 2000}}))
    return path


def simulator() -> StandInSimulator:
    prompts = [p for p, _ in ITEMS]
    return StandInSimulator(
        answers={
            "sim-cat": dict(zip(prompts, ["up", "down", "up"])),  # 2 of 3 right
            "sim-hdr": dict(zip(prompts, ["Up.", "no idea", "none"])),  # 2 of 3 right
        },
        header_costs={"sim-hdr": 0.5, "sim-judge": 0.01},
        flaky=frozenset({"sim-hdr"}),
    )


def live(base_url: str, tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "live",
            "--quiet",
            "--data",
            str(write_items(tmp_path / "items.csv")),
            "--out",
            str(tmp_path / "out.csv"),
            "--base-url",
            base_url,
            "--prices",
            str(write_prices(tmp_path / "prices.yaml")),
            "--concurrency",
            "2",
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_live_run_grades_prices_and_writes_a_routerbench_dataset(tmp_path: Path) -> None:
    sim = simulator()
    with serve(sim) as url:
        code, out = live(url, tmp_path, "--model", "sim-cat", "--model", "sim-hdr")
    assert code == 0, out
    ds = load_routerbench(tmp_path / "out.csv")
    assert ds.models == ["sim-cat", "sim-hdr"]
    assert ds.scores.tolist() == [[1, 1], [1, 0], [0, 1]]
    # sim-cat priced from usage x catalog ($0.014); sim-hdr from the gateway header ($0.5).
    assert np.allclose(ds.costs, [[0.014, 0.5]] * 3)
    assert ds.responses["sim-hdr"][0] == "Up."
    assert "paid calls 6" in out
    assert sim.calls["sim-hdr"] == 4  # one 503, retried, then three answers


def test_rerun_is_served_from_the_cache_and_pays_nothing(tmp_path: Path) -> None:
    sim = simulator()
    with serve(sim) as url:
        first = live(url, tmp_path, "--model", "sim-cat")
        calls_after_first = sum(sim.calls.values())
        second = live(url, tmp_path, "--model", "sim-cat")
    assert first[0] == second[0] == 0
    assert sum(sim.calls.values()) == calls_after_first == 3
    assert "paid calls 0 ($0.0000), from cache 3" in second[1]


def test_judge_grader_asks_another_model(tmp_path: Path) -> None:
    sim = simulator()
    with serve(sim) as url:
        code, out = live(url, tmp_path, "--model", "sim-cat", "--grader", "judge:sim-judge")
    assert code == 0, out
    ds = load_routerbench(tmp_path / "out.csv")
    assert ds.scores[:, 0].tolist() == [1, 1, 0]
    assert sim.calls["sim-judge"] == 3


def test_a_model_without_header_or_price_stops_the_run(tmp_path: Path) -> None:
    sim = StandInSimulator(answers={"sim-free": {}})
    with serve(sim) as url:
        code, out = live(url, tmp_path, "--model", "sim-free")
    assert code == 2
    assert "model 'sim-free'" in out and "no price" in out and "Traceback" not in out


def test_unreachable_endpoint_exits_2(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nothing listens there
    code, out = live(f"http://127.0.0.1:{port}/v1", tmp_path, "--model", "sim-cat")
    assert code == 2 and "cannot reach the endpoint" in out


def test_unknown_model_and_bad_inputs_exit_2(tmp_path: Path) -> None:
    sim = simulator()
    with serve(sim) as url:
        code, out = live(url, tmp_path, "--model", "gpt-9")
        assert code == 2 and "HTTP 404 model gpt-9 not found" in out
        code, out = live(url, tmp_path, "--model", "sim-cat", "--grader", "vibes")
        assert code == 2 and "--grader 'vibes'" in out
    (tmp_path / "noanswer.csv").write_text("prompt\nhello\n")
    result = runner.invoke(
        app,
        [
            "live",
            "--data",
            str(tmp_path / "noanswer.csv"),
            "--out",
            str(tmp_path / "o.csv"),
            "--model",
            "m",
            "--quiet",
        ],
    )
    assert result.exit_code == 2 and "no 'answer'" in result.output
