"""Language token premiums: how many more tokens a language pays than English.

The "Double Jeopardy" method (after Petrov et al. 2023): on parallel FLORES-200 sentences,
a script's premium is the mean over sentences of tokens(sentence in that script) divided by
tokens(the same sentence in English); a language written in several scripts gets the mean
of its scripts' premiums. Languages are keyed by ISO 639-3 code without script (`hin`).

The shipped table `pricing/data/premiums.csv` holds these premiums for every tokenizer
costroute counts with, computed by `costroute pricing premium` on the 204-language FLORES-200
devtest sample (first 100 sentences; CC-BY-SA-4.0 data, see that file's header).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

from pricing.iso639 import flores_language

REFERENCE = "eng_Latn"
SHIPPED_PREMIUMS = "data/premiums.csv"

Counter = Callable[[str], int]


class CorpusError(ValueError):
    """The parallel corpus is missing, empty, or its languages are not line-aligned."""


def load_parallel(path: Path) -> dict[str, list[str]]:
    """Parallel sentences per FLORES code, from a folder of `<code>.devtest|.dev` files or a
    JSON-lines file with one object of `{code: sentence}` per line."""
    if path.is_dir():
        corpus = _load_folder(path)
    elif path.is_file():
        corpus = _load_jsonl(path)
    else:
        raise CorpusError(f"{path}: no such file or folder")
    if not corpus:
        raise CorpusError(f"{path}: no parallel sentences found")
    lengths = {code: len(lines) for code, lines in corpus.items()}
    if len(set(lengths.values())) != 1:
        short = min(lengths, key=lambda code: lengths[code])
        raise CorpusError(
            f"{path}: languages are not parallel ({short} has {lengths[short]} lines, "
            f"others up to {max(lengths.values())})"
        )
    return corpus


def _load_folder(folder: Path) -> dict[str, list[str]]:
    corpus: dict[str, list[str]] = {}
    for file in sorted(folder.iterdir()):
        if file.suffix in (".devtest", ".dev") and file.is_file():
            text = file.read_text("utf-8", errors="replace")
            corpus[file.stem] = text.splitlines()
    return corpus


def _load_jsonl(file: Path) -> dict[str, list[str]]:
    corpus: dict[str, list[str]] = defaultdict(list)
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{file}:{number}: not JSON ({exc.msg})") from None
            for code, sentence in row.items():
                if isinstance(sentence, str) and "_" in code:
                    corpus[code].append(sentence)
    return dict(corpus)


def script_premiums(
    count: Counter, corpus: Mapping[str, list[str]], reference: str = REFERENCE
) -> dict[str, float]:
    """Premium of every FLORES code (language and script) against `reference`."""
    if reference not in corpus:
        raise CorpusError(f"the corpus has no {reference} sentences to compare against")
    reference_counts = [count(sentence) for sentence in corpus[reference]]
    premiums: dict[str, float] = {}
    for code, sentences in corpus.items():
        ratios = [
            count(sentence) / ref
            for sentence, ref in zip(sentences, reference_counts, strict=True)
            if ref > 0
        ]
        if ratios:
            premiums[code] = sum(ratios) / len(ratios)
    return premiums


def language_premiums(per_script: Mapping[str, float]) -> dict[str, float]:
    """Premium per ISO 639-3 language: the mean over the scripts it is written in."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for code, premium in per_script.items():
        grouped[flores_language(code)].append(premium)
    return {language: sum(values) / len(values) for language, values in grouped.items()}


def premium_table(
    count: Counter, corpus: Mapping[str, list[str]], reference: str = REFERENCE
) -> dict[str, float]:
    """Premium per language, highest first (the Double Jeopardy method)."""
    premiums = language_premiums(script_premiums(count, corpus, reference))
    return dict(sorted(premiums.items(), key=lambda item: (-item[1], item[0])))


def write_csv(path: Path, premiums: Mapping[str, float]) -> None:
    """Write `language,premium` rows, in the table's order."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["language", "premium"])
        for language, premium in premiums.items():
            writer.writerow([language, f"{premium:.4f}"])


def read_csv(path: Path) -> dict[str, float]:
    """A `language,premium` table written by `write_csv`."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["language"]: float(row["premium"]) for row in csv.DictReader(handle)}


def shipped_premiums() -> dict[str, dict[str, float]]:
    """The shipped premiums: tokenizer name -> language -> premium."""
    text = resources.files("pricing").joinpath(SHIPPED_PREMIUMS).read_text("utf-8")
    tables: dict[str, dict[str, float]] = defaultdict(dict)
    rows = (line for line in text.splitlines() if line and not line.startswith("#"))
    for row in csv.DictReader(rows):
        tables[row["tokenizer"]][row["language"]] = float(row["premium"])
    return dict(tables)
