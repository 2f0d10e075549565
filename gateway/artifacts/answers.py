"""Which recorded answers the cascade trainer may learn from: kept, and not redacted.

The cascade's scorer learns from each model's answer text to a prompt. The records store
keeps the tenant's content-logging redaction of that text (gateway/content_log.py), or no
text at all; neither can be trained on: a redacted answer is not what the model said, and a
scorer fitted on `[REDACTED:email]` would learn the redaction, not the answer. Such a
(prompt, model) cell keeps its label and cost (the cascade may still end on that model) but
has no answer for the scorer, and is counted so that the manifest says how many were lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.records.base import AnswerText
from routers.datasets.records import OutcomeRow

# What every redaction leaves in the text (ContentRedactor: "[REDACTED:<kind>]").
REDACTION_MARK = "[REDACTED:"


@dataclass(frozen=True)
class AnswerCounts:
    """Labelled (prompt, model) cells by what the store holds of their answer."""

    usable: int
    redacted: int
    not_recorded: int  # no answer record, or one without text

    def to_json(self) -> dict[str, Any]:
        return {"usable": self.usable, "redacted_skipped": self.redacted,
                "not_recorded": self.not_recorded}


def is_redacted(text: str) -> bool:
    return REDACTION_MARK in text


def usable_answers(
    outcomes: Sequence[OutcomeRow], answers: Iterable[AnswerText]
) -> tuple[dict[str, dict[str, str]], AnswerCounts]:
    """request id -> model -> answer text for every labelled cell whose answer is usable.

    A model asked twice about one prompt (a retried shadow call) keeps its first answer,
    as `answers` come oldest first.
    """
    first: dict[tuple[str, str], str | None] = {}
    for a in answers:
        first.setdefault((a.request_id, a.model), a.answer)
    usable: dict[str, dict[str, str]] = {}
    redacted = missing = 0
    for outcome in outcomes:
        for model in outcome.scores:
            text = first.get((outcome.request_id, model))
            if text is None:
                missing += 1
            elif is_redacted(text):
                redacted += 1
            else:
                usable.setdefault(outcome.request_id, {})[model] = text
    kept = sum(len(v) for v in usable.values())
    return usable, AnswerCounts(kept, redacted, missing)
