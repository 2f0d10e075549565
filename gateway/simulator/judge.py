"""The simulated judge: a grader model for benchmarks that says it is a simulator.

Asked as the model `costroute-simulated-judge` with a rubric prompt (gateway/learning/rubrics:
the question and the answer between fixed markers), it looks the question up in the
simulator's recordings, finds which recorded models gave that answer, and replies with their
RECORDED outcome as `SCORE: x`, flipped (x -> 1 - x) with probability `flip` (ε). The flip is
seeded by (seed, question, answer), so a rerun grades identically. A question or answer it has
no recording of gets no grade (the loop then writes no label).
"""

from __future__ import annotations

import hashlib
import random

from gateway.learning.rubrics import split_rubric_prompt
from gateway.simulator.recordings import RecordingBook, normalise_prompt

SIMULATED_JUDGE = "costroute-simulated-judge"


class SimulatedJudge:
    def __init__(self, book: RecordingBook, flip: float = 0.0, seed: int = 0):
        if not 0.0 <= flip <= 1.0:
            raise ValueError("the judge's flip probability must be in [0, 1]")
        self._book = book
        self.flip = flip
        self._seed = seed

    def recorded_outcome(self, question: str, answer: str) -> float | None:
        recording = self._book.find(question)
        if recording is None:
            return None
        wanted = normalise_prompt(answer)
        same = [m for m, text in recording.answers.items() if normalise_prompt(text) == wanted]
        outcomes = [recording.score(m) for m in same]
        known = [x for x in outcomes if x is not None]
        return sum(known) / len(known) if known else None

    def reply(self, prompt: str) -> str:
        parts = split_rubric_prompt(prompt)
        if parts is None:
            return "costroute-simulated-judge: no rubric markers in the prompt; cannot grade."
        question, answer = parts
        outcome = self.recorded_outcome(question, answer)
        if outcome is None:  # no grade at all: a made-up 0 would teach the router a falsehood
            return "costroute-simulated-judge: no recorded outcome for this answer; cannot grade."
        key = f"{self._seed}\x00{normalise_prompt(question)}\x00{normalise_prompt(answer)}"
        rng = random.Random(hashlib.sha256(key.encode()).digest())
        flipped = rng.random() < self.flip
        score = 1.0 - outcome if flipped else outcome
        note = " (flipped)" if flipped else ""
        return f"costroute-simulated-judge: recorded outcome{note}.\nSCORE: {score:g}"
