"""Which language a prompt is written in, as an ISO 639-3 code, fully offline.

Backed by `py3langid` (BSD-3-Clause), whose naive-Bayes model (~4.5 MB) ships inside the
wheel: nothing is downloaded. It knows about 130 languages; anything else comes back as the
closest one it knows, so `supported_languages()` tells callers which answers can be right.
Measured on FLORES-200 (see tests/pricing/test_langid.py for the split and the floor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from pricing.iso639 import UNDETERMINED, to_iso639_3
from pricing.tokenizers import message_text

# Enough text to decide; identifying a 100 KB prompt in full buys nothing.
DEFAULT_MAX_CHARS = 512


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """An identified language: ISO 639-3 code, the identifier's confidence, its raw label."""

    language: str
    confidence: float
    label: str


class LanguageIdentifier(Protocol):
    """Names the language of a text."""

    def identify(self, text: str) -> LanguageGuess: ...


def _scrub(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


@cache
def _shipped_model() -> Any:
    # Loading takes 1-2 s (the model is xz-compressed) and the result is read-only, so one
    # copy per process is shared by every identifier (one per gateway app, many in tests).
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


class Py3LangidIdentifier:
    """py3langid's shipped model, loaded on first use, answers mapped to ISO 639-3."""

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS):
        self._max_chars = max_chars

    def _loaded(self) -> Any:
        return _shipped_model()

    def supported_languages(self) -> frozenset[str]:
        """ISO 639-3 codes this identifier can answer."""
        return frozenset(to_iso639_3(label) for label in self._loaded().labels) - {"zxx"}

    def identify(self, text: str) -> LanguageGuess:
        sample = _scrub(text[: self._max_chars]).strip()
        if not sample:
            return LanguageGuess(UNDETERMINED, 0.0, "")
        label, confidence = self._loaded().classify(sample)
        return LanguageGuess(to_iso639_3(str(label)), float(confidence), str(label))


def prompt_text(messages: Sequence[Mapping[str, Any]], max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text whose language matters: the user's messages, latest first, up to max_chars.

    System prompts are skipped when there is user text: they are often boilerplate English
    in front of a user writing in another language.
    """
    user = [message_text(m.get("content")) for m in messages if m.get("role") == "user"]
    texts = user or [message_text(m.get("content")) for m in messages]
    out: list[str] = []
    size = 0
    for text in reversed(texts):
        if size >= max_chars:
            break
        out.append(text[: max_chars - size])
        size += len(out[-1])
    return "\n".join(out)


def identify_messages(
    identifier: LanguageIdentifier, messages: Sequence[Mapping[str, Any]]
) -> LanguageGuess:
    """The language of a chat request (see `prompt_text` for which text counts)."""
    return identifier.identify(prompt_text(messages))
