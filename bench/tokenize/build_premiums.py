"""Rebuild `pricing/data/premiums.csv`: premiums of every tokenizer costroute counts with.

    python bench/tokenize/build_premiums.py ../shared/data/flores200/flores200_devtest_first100_all204.jsonl \
        pricing/data/premiums.csv

Same method as `costroute pricing premium` (mean over parallel sentences of
tokens(language)/tokens(English), scripts averaged), on FLORES-200's 204-language sample.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pricing.premium import load_parallel, premium_table
from pricing.tokenizers import TokenizerRegistry

TOKENIZERS = ("cl100k_base", "o200k_base", "mistral_spm", "qwen2", "heuristic")

HEADER = """\
# Token premium vs English per tokenizer and ISO 639-3 language (scripts averaged).
# Derived from FLORES-200 devtest, first 100 sentences of 204 languages (CC-BY-SA-4.0,
# NLLB Team / Meta; sample via AleksandarPetrov/tokenization-fairness, MIT).
# Rebuild: bench/tokenize/build_premiums.py
"""


def main(data: Path, out: Path) -> None:
    corpus = load_parallel(data)
    registry = TokenizerRegistry()
    lines = [HEADER.rstrip("\n"), "tokenizer,language,premium"]
    for name in TOKENIZERS:
        tokenizer = registry.get(name)
        if tokenizer.estimated and name != "heuristic":
            sys.exit(f"{name} is not installed; install the `tokenizers` extra first")
        for language, premium in premium_table(tokenizer.count, corpus).items():
            lines.append(f"{name},{language},{premium:.4f}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(lines) - 2} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
