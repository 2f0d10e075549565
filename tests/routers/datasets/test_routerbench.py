"""RouterBench wide format: round trips, folders, unknown cells, catalog-priced costs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pricing import PriceCatalog
from routers.datasets import (
    DatasetFormatError,
    RoutingDataset,
    load_routerbench,
    save_routerbench,
)


def _dataset() -> RoutingDataset:
    return RoutingDataset(
        prompts=["What is 2+2?", "Name a colour, with a comma, and \"quotes\"\nand a newline"],
        eval_names=["math", "misc"],
        models=["small", "big"],
        scores=np.array([[1.0, 1.0], [np.nan, 0.5]]),
        costs=np.array([[1e-5, 2e-4], [2e-5, 3e-4]]),
        responses={"small": ["4", None]},
        name="toy",
    )


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_round_trip_keeps_everything(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"toy{suffix}"
    save_routerbench(_dataset(), path)
    back = load_routerbench(path)
    original = _dataset()
    assert back.prompts == original.prompts and back.eval_names == original.eval_names
    assert back.models == original.models
    np.testing.assert_array_equal(back.scores, original.scores)  # NaN stays NaN
    np.testing.assert_allclose(back.costs, original.costs)
    assert back.responses == {"small": ["4", None]}


def test_folder_concatenates_files_with_a_union_of_models(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("prompt,eval_name,m1,m1|total_cost\nq1,t,True,0.1\n")
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"prompt": "q2", "eval_name": "t", "m2": 0.0, "m2|total_cost": 0.2}) + "\n"
    )
    ds = load_routerbench(tmp_path)
    assert ds.prompts == ["q1", "q2"] and ds.models == ["m1", "m2"]
    assert ds.scores[0, 0] == 1.0 and math.isnan(ds.scores[0, 1])
    assert ds.scores[1, 1] == 0.0 and math.isnan(ds.scores[1, 0])


def test_missing_costs_come_from_catalog_prices(tmp_path: Path) -> None:
    catalog = PriceCatalog.from_mapping(
        {"m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "tokenizer": "heuristic"}}
    )
    path = tmp_path / "x.csv"
    path.write_text("prompt,eval_name,m,m|model_response\nabcdefgh,t,1,abcdefghijklmnop\n")
    ds = load_routerbench(path, catalog=catalog)
    # Heuristic: 4 bytes/token. Prompt: 3 priming + 3 framing + "user" (1) + 8 bytes (2).
    assert ds.costs[0, 0] == pytest.approx((9 * 1.0 + 4 * 2.0) / 1e6)


def test_missing_costs_for_unpriced_model_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("prompt,eval_name,nobody-knows-me\nq,t,1\n")
    with pytest.raises(ValueError, match="nobody-knows-me"):
        load_routerbench(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("eval_name,m\nt,1\n", "no 'prompt' column"),
        ("prompt,eval_name\nq,t\n", "no model score columns"),
        ("prompt,eval_name,m,m|total_cost\nq,t,maybe,1\n", "not a number"),
        ("prompt,eval_name,m,m|total_cost\nq,t,3,1\n", r"not in \[0, 1\]"),
    ],
)
def test_bad_files_raise_format_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DatasetFormatError, match=message):
        load_routerbench(path)


def test_routerbench_meta_columns_are_not_models(tmp_path: Path) -> None:
    path = tmp_path / "rb.csv"
    path.write_text(
        "sample_id,prompt,eval_name,oracle_model_to_route_to,m,m|total_cost\n"
        "1,q,t,m,1,0.5\n"
    )
    assert load_routerbench(path).models == ["m"]


def test_missing_path_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="no such file"):
        load_routerbench(tmp_path / "nope.csv")


def test_routerbench_csv_index_and_list_prompts(tmp_path: Path) -> None:
    # RouterBench's own CSVs: a nameless pandas index first, prompts stored as list reprs.
    path = tmp_path / "arc.csv"
    shots = "['Q one?\\nA) x\\nB) y\\nAnswer:\\nA\\n\\nQ two?\\nA) x\\nB) y\\nAnswer:']"
    path.write_text(
        ",sample_id,prompt,eval_name,m,m|total_cost\n"
        f'507,arc.1,"{shots}",arc,1.0,0.5\n'
        "508,arc.2,\"['not', 3]\",arc,0.0,0.5\n"
    )
    ds = load_routerbench(path)
    assert ds.models == ["m"]
    assert ds.prompts[0] == "Q one?\nA) x\nB) y\nAnswer:\nA\n\nQ two?\nA) x\nB) y\nAnswer:"
    assert ds.prompts[1] == "['not', 3]"  # not a list of turns: kept as written
