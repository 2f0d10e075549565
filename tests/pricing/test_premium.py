"""Language premium report: checked against values computed here, straight from raw files."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pricing.cli import app
from pricing.premium import CorpusError, load_parallel, shipped_premiums
from pricing.tiktoken_files import BLOB_URLS

SUBSET = ["eng_Latn", "hin_Deva", "fra_Latn", "zho_Hans", "zho_Hant", "taq_Latn", "taq_Tfng",
          "shn_Mymr", "ory_Orya", "sat_Olck", "dzo_Tibt"]


@pytest.fixture(scope="module")
def subset_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = shared_data / "flores200" / "devtest_full"
    if not source.is_dir():
        pytest.skip(f"{source} not found")
    target = tmp_path_factory.mktemp("devtest_subset")
    for code in SUBSET:
        shutil.copy(source / f"{code}.devtest", target / f"{code}.devtest")
    return target


def _independent_premiums(folder: Path, encoding: Any) -> dict[str, float]:
    """Mean over line pairs of len(tokens(lang))/len(tokens(eng)); scripts averaged."""
    def counts(code: str) -> list[int]:
        lines = (folder / f"{code}.devtest").read_text(encoding="utf-8").splitlines()
        return [len(encoding.encode_ordinary(line)) for line in lines]

    english = counts("eng_Latn")
    by_language: dict[str, list[float]] = defaultdict(list)
    for code in SUBSET:
        ratios = [n / e for n, e in zip(counts(code), english, strict=True)]
        by_language[code.split("_")[0]].append(sum(ratios) / len(ratios))
    return {lang: sum(values) / len(values) for lang, values in by_language.items()}


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["premium", *args])


def _read(path: Path) -> dict[str, float]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == ["language", "premium"]
    return {row["language"]: float(row["premium"]) for row in rows}


@pytest.mark.parametrize("tokenizer", sorted(BLOB_URLS))
def test_premiums_match_an_independent_computation(
    subset_dir: Path, tmp_path: Path, reference_encodings: dict[str, Any], tokenizer: str
) -> None:
    out = tmp_path / "premium.csv"
    result = _run("--tokenizer", tokenizer, "--data", str(subset_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    ours = _read(out)
    expected = _independent_premiums(subset_dir, reference_encodings[tokenizer])
    assert set(ours) == set(expected) == {"eng", "hin", "fra", "zho", "taq", "shn", "ory",
                                          "sat", "dzo"}
    for language, value in expected.items():
        assert ours[language] == pytest.approx(value, abs=6e-5), language
    assert ours["eng"] == 1.0
    assert list(ours.values()) == sorted(ours.values(), reverse=True)
    assert f"hin\t{expected['hin']:.2f}" in result.output


def test_reproduces_double_jeopardy_findings_on_cl100k(subset_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "premium.csv"
    assert _run("--tokenizer", "cl100k_base", "--data", str(subset_dir),
                "--out", str(out)).exit_code == 0
    premiums = _read(out)
    for language in ("shn", "ory", "sat", "dzo"):
        assert premiums[language] > 10.0, language
    assert max(premiums, key=lambda k: premiums[k]) == "shn"


def test_close_to_petrov_et_al_published_counts(subset_dir: Path, shared_data: Path,
                                                tmp_path: Path) -> None:
    """Petrov et al. publish total cl100k_base tokens per language; their ratio to English
    (a ratio of totals, not a mean of ratios) lies within 5% of our premium."""
    flores = shared_data / "flores200"
    with (flores / "flores_language_map.csv").open(newline="") as handle:
        names = {row[1].strip(): row[0].strip() for row in csv.reader(handle) if len(row) == 2}
    with (flores / "petrov_tokenization_lengths.csv").open(newline="") as handle:
        totals = {row["Language"]: int(row["cl100k_base"]) for row in csv.DictReader(handle)}
    out = tmp_path / "premium.csv"
    assert _run("--tokenizer", "cl100k_base", "--data", str(subset_dir),
                "--out", str(out)).exit_code == 0
    ours = _read(out)
    english = totals[names["eng_Latn"]]
    for code in ("hin_Deva", "fra_Latn", "shn_Mymr", "ory_Orya", "sat_Olck", "dzo_Tibt"):
        published = totals[names[code]] / english
        assert ours[code[:3]] == pytest.approx(published, rel=0.05), code


def test_a_model_name_selects_its_tokenizer(subset_dir: Path) -> None:
    result = _run("--tokenizer", "gpt-4o", "--data", str(subset_dir), "--top", "3")
    assert result.exit_code == 0, result.output
    assert "tokenizer o200k_base" in result.output
    assert len([line for line in result.output.splitlines() if "\t" in line]) == 3


def test_jsonl_sample_is_accepted(flores_sample: list[dict[str, str]], shared_data: Path) -> None:
    data = shared_data / "flores200" / "flores200_devtest_first100_all204.jsonl"
    corpus = load_parallel(data)
    assert len(corpus) == 204 and all(len(lines) == 100 for lines in corpus.values())


@pytest.mark.parametrize("make_args, fragment", [
    (lambda d: ["--data", str(d / "missing")], "no such file or folder"),
    (lambda d: ["--tokenizer", "p50k_typo", "--data", str(d)], "unknown tokenizer or model"),
])
def test_bad_input_is_one_line_and_exit_2(subset_dir: Path, make_args: Any,
                                          fragment: str) -> None:
    result = _run(*make_args(subset_dir))
    assert result.exit_code == 2
    assert fragment in result.output and "Traceback" not in result.output


def test_non_parallel_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "eng_Latn.devtest").write_text("a\nb\n")
    (tmp_path / "hin_Deva.devtest").write_text("a\n")
    with pytest.raises(CorpusError, match="not parallel"):
        load_parallel(tmp_path)
    result = _run("--data", str(tmp_path))
    assert result.exit_code == 2 and "not parallel" in result.output


def test_folder_without_english_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hin_Deva.devtest").write_text("a\n")
    result = _run("--data", str(tmp_path))
    assert result.exit_code == 2 and "eng_Latn" in result.output


def test_shipped_table_covers_every_tokenizer() -> None:
    tables = shipped_premiums()
    assert {"cl100k_base", "o200k_base", "mistral_spm", "qwen2", "heuristic"} <= set(tables)
    for table in tables.values():
        assert table["eng"] == 1.0 and len(table) >= 190
