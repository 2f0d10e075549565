"""The simulated judge returns recorded outcomes, flipped with probability ε (seeded)."""

from __future__ import annotations

import openai
import pytest

from gateway.learning.rubrics import parse_grade, rubric
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.judge import SIMULATED_JUDGE, SimulatedJudge
from gateway.simulator.recordings import Recording, RecordingBook
from gateway.simulator.server import run_simulator


def book(n: int = 400) -> RecordingBook:
    return RecordingBook(Recording(f"q{i}", f"question {i}?", {"a": f"answer {i}", "b": "same"},
                                   {"a": i % 2 == 0, "b": False}) for i in range(n))


def grade(judge: SimulatedJudge, question: str, answer: str) -> float | None:
    return parse_grade(judge.reply(rubric("v1").messages(question, answer)[-1]["content"]))


def test_recorded_outcomes_without_noise() -> None:
    judge = SimulatedJudge(book(), flip=0.0)
    assert grade(judge, "question 2?", "answer 2") == 1.0
    assert grade(judge, "question 3?", "answer 3") == 0.0
    assert grade(judge, "question 3?", "same") == 0.0
    assert grade(judge, "unknown?", "x") is None  # no recording: no grade, no label


def test_flips_at_about_epsilon_and_repeats_itself() -> None:
    judge = SimulatedJudge(book(), flip=0.25, seed=5)
    flipped = sum(grade(judge, f"question {i}?", f"answer {i}") != float(i % 2 == 0)
                  for i in range(400))
    assert 0.25 - 0.11 < flipped / 400 < 0.25 + 0.11  # 5 sigma of Binomial(400, 0.25)
    again = SimulatedJudge(book(), flip=0.25, seed=5)
    assert all(grade(judge, f"question {i}?", f"answer {i}") ==
               grade(again, f"question {i}?", f"answer {i}") for i in range(50))


def test_the_judge_speaks_the_chat_wire_format() -> None:
    recording = next(iter(RecordingBook.shipped()))
    answer = recording.answers["gpt-4-1106-preview"]
    with run_simulator(SimulatorConfig(latency_scale=0)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="unused", max_retries=0)
        reply = client.chat.completions.create(
            model=SIMULATED_JUDGE, messages=rubric("v1").messages(recording.prompt, answer))
    text = reply.choices[0].message.content or ""
    assert "simulated" in text
    assert parse_grade(text) == float(recording.correct["gpt-4-1106-preview"])


def test_flip_must_be_a_probability() -> None:
    with pytest.raises(ValueError):
        SimulatedJudge(book(), flip=1.5)
