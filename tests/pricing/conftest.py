"""Fixtures for the pricing tests: one tokenizer registry per session, on a private cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pricing.tokenizers import TokenizerRegistry


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> TokenizerRegistry:
    return TokenizerRegistry(cache_dir=tmp_path_factory.mktemp("tiktoken"))


@pytest.fixture(scope="session")
def flores_sample(shared_data: Path) -> list[dict[str, str]]:
    """FLORES-200 devtest, first 100 sentences of 204 language codes (one dict a sentence)."""
    path = shared_data / "flores200" / "flores200_devtest_first100_all204.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
