"""Which language a prompt is written in, as an ISO 639-3 code, fully offline.

Backed by `py3langid` (BSD-3-Clause), whose naive-Bayes model (~4.5 MB) ships inside the
wheel: nothing is downloaded. It knows about 130 languages; anything else comes back as the
closest one it knows, so `supported_languages()` tells callers which answers can be right.
Measured on FLORES-200 (see tests/pricing/test_langid.py for the split and the floor).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from pricing.iso639 import UNDETERMINED, to_iso639_3
from pricing.tokenizers import message_text

# Enough text to decide; identifying a 100 KB prompt in full buys nothing.
DEFAULT_MAX_CHARS = 512
# Feature rows kept widened to float32 (142 languages: 568 B a row, so at most ~9 MB, touched
# only as rows are used); the model has ~100k, and a language's prompts reuse a few thousand.
HOT_ROWS = 16_384


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


class _Scorer:
    """py3langid's `classify` (probabilities normalised, no confidence floor) with the same
    answers, in less CPU on the gateway's hot path.

    py3langid keeps its feature log-probabilities as float16, so each call multiplies a
    float32 vector by float16 rows, which numpy does without BLAS (software widening), and
    counts features with a `Counter`: together about half of its time on a chat prompt. Here
    the rows a request uses are widened to float32 once and kept (up to HOT_ROWS of them;
    widening is exact: every float16 is a float32), the product is a BLAS one on those, and
    features are counted in a dict. The rest is py3langid's own arithmetic, in its order.
    """

    def __init__(self, model: Any, hot_rows: int = HOT_ROWS):
        import numpy as np

        self._np = np
        self._model = model
        self._encode = model._encode
        self._nextmove = model.tk_nextmove
        self._rowbase = model._rowbase
        self._output = model.tk_output
        self._table = model.nb_ptc
        self._prior = model.nb_pc
        self._classes = model.nb_classes
        self._alias_pairs = model._alias_pairs
        # np.empty: pages are only mapped as rows are written.
        self._hot = np.empty((hot_rows, model.nb_ptc.shape[1]), dtype=np.float32)
        self._slots: dict[int, int] = {}  # feature -> its row in _hot
        self._lock = threading.Lock()  # for adding rows; reads need none

    @classmethod
    def of(cls, model: Any) -> _Scorer | None:
        """A scorer for `model`, or None where it is not laid out as py3langid 0.4's (then
        its own `classify` answers)."""
        try:
            import numpy as np

            usable = (model.nb_ptc.dtype == np.float16 and model.nb_pc.dtype == np.float32
                      and model._norm_probs and model.min_confidence is None
                      and callable(model._encode))
            return cls(model) if usable else None
        except AttributeError:
            return None

    def _rows(self, features: list[int]) -> Any:
        """float32 rows of `features`: from the hot rows, adding those not there yet; None
        when they no longer fit."""
        slots = self._slots
        missing = [f for f in features if f not in slots]
        if missing:
            with self._lock:
                for feature in missing:
                    if feature in slots:
                        continue
                    if len(slots) >= len(self._hot):
                        return None
                    row = len(slots)
                    self._hot[row] = self._table[feature]
                    slots[feature] = row  # only once the row is written: readers go lock-free
        return self._hot.take([slots[f] for f in features], axis=0)

    def classify(self, text: str) -> tuple[str, float]:
        data = self._encode(text)
        nextmove, rowbase, output = self._nextmove, self._rowbase, self._output
        counts: dict[int, int] = {}
        state = 0
        for byte in data:  # py3langid's visit_counts: the tokenizer's automaton
            state = nextmove[rowbase[state] + byte]
            feature = output[state]
            if feature >= 0:
                counts[feature] = counts.get(feature, 0) + 1
        rows = self._rows(list(counts)) if counts else None
        if rows is None:  # no features, or the hot rows are full: py3langid's own way
            label, confidence = self._model.classify(text)
            return str(label), float(confidence)
        np = self._np
        weights = np.log1p(np.fromiter(counts.values(), np.float32, len(counts)))
        scores = weights @ rows + self._prior
        scores *= 1.0 / math.sqrt(len(data) or 1)
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
        for first, dupe in self._alias_pairs:  # script aliases (srl -> sr) share one label
            scores[first] += scores[dupe]
            scores[dupe] = 0.0
        best = int(scores.argmax())
        return str(self._classes[best]), float(scores[best])


@cache
def _shipped_scorer() -> _Scorer | None:
    return _Scorer.of(_shipped_model())


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
        scorer = _shipped_scorer()
        if scorer is None:
            label, confidence = self._loaded().classify(sample)
            label, confidence = str(label), float(confidence)
        else:
            label, confidence = scorer.classify(sample)
        return LanguageGuess(to_iso639_3(label), confidence, label)


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
