"""Recorded answers the simulator replays: prompt -> each recorded model's answer text."""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from pricing.tokenizers import message_text

SHIPPED_RECORDINGS = "data/gsm8k_recordings.jsonl.gz"

# Typographic quotes and dashes differ between copies of the same benchmark prompt
# (RouteLLM's GSM8K has "Janet’s"); fold them so both spellings find the recording.
_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_SPACES = re.compile(r"\s+")


def normalise_prompt(text: str) -> str:
    """The lookup key of a prompt: NFKC, folded quotes, collapsed whitespace, casefolded."""
    folded = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return _SPACES.sub(" ", folded).strip().casefold()


def prompt_of(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text a recording is keyed by: the last user message (routing data is single-turn)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return message_text(messages[-1].get("content")) if messages else ""


@dataclass(frozen=True)
class Recording:
    """One recorded prompt with each model's answer and whether it was judged correct."""

    id: str
    prompt: str
    answers: Mapping[str, str]
    correct: Mapping[str, bool] = field(default_factory=dict)
    # Graded outcomes in [0, 1] where the dataset has more than right/wrong (LLMRouter).
    scores: Mapping[str, float] = field(default_factory=dict)

    def score(self, model: str) -> float | None:
        """`model`'s recorded outcome: its score, else 1/0 for correct, else None."""
        if model in self.scores:
            return self.scores[model]
        return float(self.correct[model]) if model in self.correct else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "prompt": self.prompt,
            "answers": dict(self.answers),
            "correct": dict(self.correct),
        }
        if self.scores:
            out["scores"] = dict(self.scores)
        return out

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> Recording:
        return cls(
            id=str(row["id"]),
            prompt=str(row["prompt"]),
            answers={str(k): str(v) for k, v in row["answers"].items()},
            correct={str(k): bool(v) for k, v in (row.get("correct") or {}).items()},
            scores={str(k): float(v) for k, v in (row.get("scores") or {}).items()},
        )


class RecordingBook:
    """Read-only lookup of recorded answers by (model, normalised prompt)."""

    def __init__(self, recordings: Iterable[Recording]):
        self._recordings = list(recordings)
        self._by_prompt = {normalise_prompt(r.prompt): r for r in self._recordings}

    @classmethod
    def shipped(cls) -> RecordingBook:
        """The GSM8K recordings bundled with the simulator (RouteLLM, Apache-2.0)."""
        blob = resources.files("gateway.simulator").joinpath(SHIPPED_RECORDINGS).read_bytes()
        return cls(read_jsonl_gz(blob))

    @classmethod
    def from_path(cls, path: Path) -> RecordingBook:
        return cls(read_jsonl_gz(path.read_bytes()))

    def find(self, prompt: str) -> Recording | None:
        return self._by_prompt.get(normalise_prompt(prompt))

    def answer(self, model: str, prompt: str) -> str | None:
        """`model`'s recorded answer to `prompt`, or None when there is no such recording."""
        recording = self.find(prompt)
        return recording.answers.get(model) if recording else None

    def models(self) -> set[str]:
        return {model for r in self._recordings for model in r.answers}

    def __iter__(self) -> Iterator[Recording]:
        return iter(self._recordings)

    def __len__(self) -> int:
        return len(self._recordings)


def read_jsonl_gz(blob: bytes) -> list[Recording]:
    text = gzip.decompress(blob)
    return [Recording.from_json(orjson.loads(line)) for line in text.splitlines() if line.strip()]


def write_jsonl_gz(recordings: Iterable[Recording], path: Path) -> None:
    """Write recordings reproducibly: fixed gzip mtime and key order give identical bytes."""
    lines = b"".join(
        orjson.dumps(r.to_json(), option=orjson.OPT_SORT_KEYS) + b"\n" for r in recordings
    )
    path.write_bytes(gzip.compress(lines, compresslevel=9, mtime=0))
