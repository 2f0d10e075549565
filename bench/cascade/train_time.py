"""`costroute train cascade` wall time before and after the scaling work, in one run.

Data: the RouterBench TRAIN files (2,225 prompts x 11 models), and a 10k-row set made by
resampling those rows with replacement (seed 0): it has only the 2,225 distinct prompts, so
it measures how fitting and search scale with rows, not embedding (which is per distinct
text, cached). Both runs use the fast scorer and a warm embedding cache, so what is timed is
the training itself: the "before" is the code at `--before` (default 14bf3c9, the main branch
this work started from), exported with `git archive` and run in a subprocess on a copy of
the data without RouterBench's pandas index column (which that loader rejects), stopped
after `--before-limit` seconds.

Usage: .venv/bin/python bench/cascade/train_time.py [--before 14bf3c9] [--before-limit 900]
       [--data ../shared/data/routing/routerbench] [--rows 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import CACHE, REPO, RESULTS, SHARED, header

from routers.datasets import load_routerbench, save_routerbench


def cli(root: Path, data: Path, out: Path, limit: float) -> tuple[float, bool, str]:
    """Seconds `train cascade` took under `root`'s code, whether it finished, its last line."""
    command = [
        sys.executable, "-c", "from gateway.cli import main; main()", "train", "cascade",
        "--data", str(data), "--out", str(out), "--scorer", "fast",
        "--embedding-cache", str(CACHE / "cascade_minilm.npz"),
    ]
    env = dict(os.environ, PYTHONPATH=str(root))
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                              timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, False, f"stopped after {limit:.0f} s"
    seconds = time.perf_counter() - started
    lines = (done.stdout + done.stderr).strip().splitlines()
    return seconds, done.returncode == 0, lines[0] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="14bf3c9")
    parser.add_argument("--before-limit", type=float, default=900.0)
    parser.add_argument("--data", default=str(SHARED / "routing" / "routerbench"))
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    header("train_time.py", sys.argv[1:])
    ds = load_routerbench(args.data)
    rng = np.random.default_rng(0)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small = work / "routerbench.csv"
        save_routerbench(ds, small)
        big = work / f"routerbench_{args.rows}.csv"
        save_routerbench(ds.subset(rng.choice(len(ds), args.rows, replace=True)), big)
        before = work / "before"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        runs = [
            ("after", REPO, small, f"{len(ds)} x {len(ds.models)}"),
            ("after", REPO, big, f"{args.rows} x {len(ds.models)} (resampled)"),
            ("before", before, small, f"{len(ds)} x {len(ds.models)}"),
        ]
        for name, root, data, label in runs:
            seconds, finished, line = cli(root, data, work / f"out-{name}-{data.stem}",
                                          args.before_limit if name == "before" else 3600)
            shown = f"{seconds:.1f} s" if finished else f"> {seconds:.0f} s ({line})"
            print(f"{name:6} {label:32} {shown}   {line if finished else ''}", flush=True)
            results[f"{name} {label}"] = {"seconds": round(seconds, 1), "finished": finished,
                                          "line": line}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train_time.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
