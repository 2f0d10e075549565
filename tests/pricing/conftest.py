"""Fixtures for the pricing tests: one tokenizer registry per session, on a private cache."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pricing.tiktoken_files import BLOB_URLS, ensure_bpe_file
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


@pytest.fixture(scope="session")
def reference_encodings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """tiktoken's own Encodings, built as tiktoken_ext builds them (tiktoken checks the
    sha256 of the file), bypassing costroute's registry and tiktoken's global cache."""
    import tiktoken
    from tiktoken_ext import openai_public

    cache = tmp_path_factory.mktemp("reference_tiktoken")
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        encodings = {}
        for name in BLOB_URLS:
            ensure_bpe_file(cache, name)
            encodings[name] = tiktoken.Encoding(**getattr(openai_public, name)())
        return encodings
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous
