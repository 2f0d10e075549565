"""Builds the shipped recordings file from RouteLLM's GSM8K responses CSV.

The shipped file is `gateway/simulator/data/gsm8k_recordings.jsonl.gz`. Rebuild it with

    python -m gateway.simulator.dataset_builder ../shared/data/routing/routellm/gsm8k \\
        gateway/simulator/data/gsm8k_recordings.jsonl.gz

Rows are taken in file order, skipping the prompts RouteLLM marks as contaminated, so the
selection is reproducible and no row is chosen by looking at its answers.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

from gateway.simulator.recordings import Recording, normalise_prompt, write_jsonl_gz

RECORDED_MODELS = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")
DEFAULT_ROWS = 200


def contaminated_prompts(gsm8k_dir: Path) -> set[str]:
    """Normalised eval prompts RouteLLM drops from evaluation."""
    path = gsm8k_dir / "contaminated_prompts.jsonl"
    if not path.exists():
        return set()
    rows = (orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip())
    return {normalise_prompt(str(row["eval_prompt"])) for row in rows}


def read_recordings(gsm8k_dir: Path) -> Iterator[Recording]:
    """Every clean row of `gsm8k_responses.csv`, in file order."""
    skip = contaminated_prompts(gsm8k_dir)
    csv.field_size_limit(1 << 24)
    with (gsm8k_dir / "gsm8k_responses.csv").open(newline="", encoding="utf-8") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            if normalise_prompt(row["prompt"]) in skip:
                continue
            yield Recording(
                id=f"gsm8k-{index:04d}",
                prompt=row["prompt"],
                answers={m: row[f"{m}_response"].strip() for m in RECORDED_MODELS},
                correct={m: row[m] == "True" for m in RECORDED_MODELS},
            )


def build(gsm8k_dir: Path, out: Path, rows: int = DEFAULT_ROWS) -> int:
    """Write the first `rows` clean recordings to `out`; returns how many were written."""
    chosen: list[Recording] = []
    for recording in read_recordings(gsm8k_dir):
        if len(chosen) == rows:
            break
        chosen.append(recording)
    write_jsonl_gz(chosen, out)
    return len(chosen)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m gateway.simulator.dataset_builder GSM8K_DIR OUT.jsonl.gz")
        return 2
    written = build(Path(argv[0]), Path(argv[1]))
    print(f"wrote {written} recordings to {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
