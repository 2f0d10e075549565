"""Read and write routing data in RouterBench's wide format (CSV, JSONL, or a folder of them).

Columns: `prompt`, `eval_name`, and for every model M: `M` (score in [0, 1]; "True"/"False"
accepted), optionally `M|model_response` and `M|total_cost` (USD). RouterBench's own extra
columns (`sample_id`, `oracle_model_to_route_to`, a nameless index) are ignored. RouterBench
stores each prompt as the repr of a Python list of turns (`"['...']"`): such a prompt is read
back as its turns joined by blank lines, so few-shot prompts end in their open question. Empty cells are unknown
(NaN). Missing costs are computed from the price catalog (see `costs.py`).
"""

from __future__ import annotations

import ast
import csv
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pricing import PriceCatalog
from routers.datasets.costs import fill_missing_costs
from routers.datasets.format import RoutingDataset, concat

RESPONSE = "|model_response"
COST = "|total_cost"
META_COLUMNS = frozenset({"prompt", "eval_name", "sample_id", "oracle_model_to_route_to", "language"})
SUFFIXES = (".csv", ".jsonl")
# RouterBench rows without a response or cost: assume a short answer (documented default).
DEFAULT_OUTPUT_TOKENS = 128


class DatasetFormatError(ValueError):
    """The file is not in RouterBench's wide format; the message says where and why."""


def load_routerbench(
    path: str | Path,
    catalog: PriceCatalog | None = None,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> RoutingDataset:
    """A dataset from one CSV/JSONL file or every such file in a folder (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES)
        if not files:
            raise DatasetFormatError(f"{path}: no .csv or .jsonl files")
        parts = [_load_file(f) for f in files]
        ds = concat(parts, name=path.name) if len(parts) > 1 else parts[0]
    elif path.is_file():
        ds = _load_file(path)
    else:
        raise DatasetFormatError(f"{path}: no such file or folder")
    if (np.isnan(ds.costs) & ~np.isnan(ds.scores)).any():
        ds.costs = fill_missing_costs(
            ds.costs, ds.scores, ds.prompts, ds.models, catalog or PriceCatalog.shipped(),
            output_tokens, ds.responses,
        )
    return ds


def save_routerbench(ds: RoutingDataset, path: str | Path,
                     sample_ids: Sequence[str] | None = None) -> None:
    """Write `ds` as CSV or JSONL (by suffix); NaN becomes an empty cell / null. With
    `sample_ids` (one per row), each row also names its sample (`sample_id`)."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise DatasetFormatError(f"{path}: suffix must be .csv or .jsonl")
    if sample_ids is not None and len(sample_ids) != len(ds):
        raise ValueError(f"{len(sample_ids)} sample ids for {len(ds)} rows")
    rows = list(_rows(ds))
    if sample_ids is not None:
        rows = [{"sample_id": sample, **row} for sample, row in zip(sample_ids, rows, strict=True)]
    if path.suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    header = list(rows[0]) if rows else ["prompt", "eval_name"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def _rows(ds: RoutingDataset) -> Iterable[dict[str, Any]]:
    for i, prompt in enumerate(ds.prompts):
        row: dict[str, Any] = {"prompt": prompt, "eval_name": ds.eval_names[i]}
        for j, model in enumerate(ds.models):
            row[model] = _none_if_nan(ds.scores[i, j])
            if model in ds.responses:
                row[model + RESPONSE] = ds.responses[model][i]
            row[model + COST] = _none_if_nan(ds.costs[i, j])
        yield row


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _load_file(path: Path) -> RoutingDataset:
    if path.suffix == ".csv":
        csv.field_size_limit(sys.maxsize)
        with path.open(encoding="utf-8", newline="") as fh:
            records: list[Mapping[str, Any]] = list(csv.DictReader(fh))
    elif path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            records = [_json_line(path, n, line) for n, line in enumerate(fh, 1) if line.strip()]
    else:
        raise DatasetFormatError(f"{path}: suffix must be .csv or .jsonl")
    return from_records(records, name=path.stem, source=str(path))


def _json_line(path: Path, number: int, line: str) -> Mapping[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f"{path}:{number}: not JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise DatasetFormatError(f"{path}:{number}: expected a JSON object")
    return record


def from_records(
    records: list[Mapping[str, Any]], name: str = "dataset", source: str = "records"
) -> RoutingDataset:
    """A dataset from wide-format rows (dicts); costs left NaN where the rows have none."""
    if not records:
        raise DatasetFormatError(f"{source}: no rows")
    columns = list(records[0])
    if "prompt" not in columns:
        raise DatasetFormatError(f"{source}: no 'prompt' column")
    # A nameless first column is a pandas index written with the frame (RouterBench's CSVs).
    models = [c for c in columns if c not in META_COLUMNS and "|" not in c and not _index(c)]
    if not models:
        raise DatasetFormatError(f"{source}: no model score columns")
    scores = np.full((len(records), len(models)), np.nan)
    costs = np.full_like(scores, np.nan)
    responses: dict[str, list[str | None]] = {
        m: [] for m in models if m + RESPONSE in columns
    }
    for i, rec in enumerate(records):
        for j, model in enumerate(models):
            scores[i, j] = _score(rec.get(model), source, i, model)
            costs[i, j] = _number(rec.get(model + COST), source, i, model + COST)
        for model, answers in responses.items():
            text = rec.get(model + RESPONSE)
            answers.append(str(text) if text not in (None, "") else None)
    return RoutingDataset(
        prompts=[_prompt_text(rec.get("prompt")) for rec in records],
        eval_names=[str(rec.get("eval_name") or name) for rec in records],
        models=models,
        scores=scores,
        costs=costs,
        responses=responses,
        name=name,
    )


def _prompt_text(value: Any) -> str:
    """The prompt, with RouterBench's list-of-turns repr unwrapped."""
    text = str(value or "")
    if not (text.startswith("[") and text.endswith("]")):
        return text
    try:
        turns = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text  # a prompt that merely looks like a list
    if isinstance(turns, list) and turns and all(isinstance(t, str) for t in turns):
        return "\n\n".join(turns)
    return text


def _index(column: str) -> bool:
    """A pandas index written with the CSV (blank header or "Unnamed: 0"), not a model."""
    return not column.strip() or column.startswith("Unnamed:")


def _score(value: Any, source: str, row: int, column: str) -> float:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return 1.0 if value.strip().lower() == "true" else 0.0
    if isinstance(value, bool):
        return float(value)
    score = _number(value, source, row, column)
    if not math.isnan(score) and not 0.0 <= score <= 1.0:
        raise DatasetFormatError(f"{source}: row {row + 1}: {column}={score} is not in [0, 1]")
    return score


def _number(value: Any, source: str, row: int, column: str) -> float:
    if value is None or value == "":
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DatasetFormatError(
            f"{source}: row {row + 1}: {column}={str(value)[:40]!r} is not a number"
        ) from None
