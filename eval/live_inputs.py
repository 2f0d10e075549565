"""Prompts with reference answers for live runs: a CSV/JSONL file or a built-in set.

A file needs a `prompt` column and an `answer` (or `reference`) column; `eval_name` is
optional. Built-in: `frugalgpt-headlines` (FrugalGPT's HEADLINES test split, with its 8-shot
prefix; grade with `exact`).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from eval.inputs import DataError
from eval.live import LiveItem

ANSWER_COLUMNS = ("answer", "reference", "ref_answer")


def load_live_items(spec: str, shared_data: Path, limit: int | None = None) -> list[LiveItem]:
    """The items `spec` names, the first `limit` of them if given."""
    if spec == "frugalgpt-headlines":
        items = list(_headlines(shared_data / "frugalgpt"))
    else:
        path = Path(spec)
        if not path.is_file():
            raise DataError(
                f"--data {spec}: no such file, and not a built-in (frugalgpt-headlines)"
            )
        items = list(_from_records(path))
    if not items:
        raise DataError(f"--data {spec}: no prompts")
    return items[:limit] if limit else items


def _from_records(path: Path) -> Iterator[LiveItem]:
    records = _read(path)
    if not records:
        return
    columns = set(records[0])
    if "prompt" not in columns:
        raise DataError(f"{path}: no 'prompt' column")
    answer = next((c for c in ANSWER_COLUMNS if c in columns), None)
    if answer is None:
        raise DataError(f"{path}: no 'answer' (or 'reference') column to grade against")
    for record in records:
        yield LiveItem(
            str(record["prompt"]),
            str(record.get(answer) or ""),
            str(record.get("eval_name") or path.stem),
        )


def _read(path: Path) -> list[Mapping[str, Any]]:
    if path.suffix == ".csv":
        csv.field_size_limit(sys.maxsize)
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            try:
                return [json.loads(line) for line in fh if line.strip()]
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: not JSON lines ({exc.msg})") from None
    raise DataError(f"{path}: suffix must be .csv or .jsonl")


def _headlines(folder: Path) -> Iterator[LiveItem]:
    data = folder / "data_HEADLINES_test.csv"
    prefix_path = folder / "config_prompt_HEADLINES_prefix_e8.txt"
    if not data.is_file() or not prefix_path.is_file():
        raise DataError(f"{folder}: FrugalGPT HEADLINES files not found (set --shared-data)")
    prefix = prefix_path.read_text(encoding="utf-8")
    with data.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) >= 2:
                yield LiveItem(prefix + row[0], row[1], "headlines")
