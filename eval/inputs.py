"""Resolving `--data` arguments: a RouterBench-format file or folder, or a built-in name.

Built-in names (see `eval.builtin_data`) read the public outcome files under
`--shared-data` (default `../shared/data`). A file may carry a `language` column; it is kept
for the per-language cost premium.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.builtin_data import builtin_names, load_builtin
from pricing import PriceCatalog
from routers.datasets import (
    DatasetFormatError,
    RoutingDataset,
    from_records,
    load_routerbench,
)
from routers.datasets.costs import fill_missing_costs
from routers.datasets.routerbench import DEFAULT_OUTPUT_TOKENS

LANGUAGE_COLUMNS = ("language", "lang")


class DataError(ValueError):
    """A `--data` argument cannot be loaded; the message says which and why."""


@dataclass(frozen=True)
class LoadedData:
    """An evaluation dataset, its training data if it ships one, and per-prompt languages."""

    dataset: RoutingDataset
    train: RoutingDataset | None = None
    languages: list[str] | None = None
    notes: tuple[str, ...] = ()


def load_data(spec: str, shared_data: Path, catalog: PriceCatalog) -> LoadedData:
    """The dataset `spec` names: a built-in name or a path."""
    if spec in builtin_names():
        dataset, train, notes, prices = load_builtin(spec, shared_data, catalog)
        return _with_price_notes(LoadedData(dataset, train=train, notes=notes), prices)
    path = Path(spec)
    if not path.exists():
        raise DataError(
            f"--data {spec}: no such file or folder, and not a built-in dataset "
            f"({', '.join(builtin_names())})"
        )
    if path.is_file() and _has_language_column(path):
        return _with_price_notes(_load_with_languages(path, catalog), catalog)
    return _with_price_notes(LoadedData(load_routerbench(path, catalog)), catalog)


def _with_price_notes(data: LoadedData, catalog: PriceCatalog) -> LoadedData:
    """`data` with a note stating the price assumed for each model, next to the figures."""
    lines = []
    for model in data.dataset.models:
        price = catalog.get(model)
        lines.append(
            f"`{model}`: ${price.input_per_mtok:g} in / ${price.output_per_mtok:g} out per 1M "
            f"tokens (price date {price.price_date}; used where no cost is recorded)"
            if price is not None
            else f"`{model}`: costs as recorded in the data"
        )
    return replace(data, notes=(*data.notes, "Prices: " + "; ".join(lines)))


def _has_language_column(path: Path) -> bool:
    first = _records(path, limit=1)
    return bool(first) and any(c in first[0] for c in LANGUAGE_COLUMNS)


def _load_with_languages(path: Path, catalog: PriceCatalog) -> LoadedData:
    # The RouterBench loader would read a language column as a model; take it out first.
    records = _records(path)
    column = next(c for c in LANGUAGE_COLUMNS if c in records[0])
    languages = [str(r.get(column) or "unknown") for r in records]
    stripped: list[Mapping[str, Any]] = [
        {k: v for k, v in r.items() if k != column} for r in records
    ]
    ds = from_records(stripped, name=path.stem, source=str(path))
    if np.isnan(ds.costs).any():
        ds.costs = fill_missing_costs(
            costs=ds.costs,
            scores=ds.scores,
            prompts=ds.prompts,
            models=ds.models,
            catalog=catalog,
            output_tokens=DEFAULT_OUTPUT_TOKENS,
            responses=ds.responses,
        )
    return LoadedData(ds, languages=languages)


def _records(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        csv.field_size_limit(sys.maxsize)
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            return [dict(r) for _, r in zip(range(limit or sys.maxsize), reader)]
    if path.suffix == ".jsonl":
        out: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if limit is not None and len(out) >= limit:
                    break
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise DatasetFormatError(f"{path}:{number}: not JSON ({exc.msg})") from None
        return out
    raise DatasetFormatError(f"{path}: suffix must be .csv or .jsonl")
