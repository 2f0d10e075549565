"""Grading one answer to a captured prompt: exact match where a reference exists, else the
tenant's LLM judge with its versioned rubric. A grade that cannot be read is no label."""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.learning.calls import LearningCaller
from gateway.learning.graders import EXACT_GRADER, exact_grade
from gateway.learning.metrics import LearningMetrics
from gateway.learning.rubrics import parse_grade, rubric
from gateway.learning.shadow import ShadowJob
from gateway.records.base import Label

JUDGE_MAX_TOKENS = 256


def judge_grader(model: str, version: str) -> str:
    return f"judge:{model}:{version}"


@dataclass
class Judge:
    caller: LearningCaller
    metrics: LearningMetrics

    async def grade(self, job: ShadowJob, model: str, answer: str, n: int) -> Label | None:
        """`model`'s answer to the job's prompt as a Label, or None (no grader, no grade)."""
        now = time.time()
        if job.reference is not None:
            return Label(job.request_id, job.tenant.name, model,
                         exact_grade(answer, job.reference), "exact", now,
                         grader=EXACT_GRADER)
        settings = job.tenant.learning.judge
        if settings.model is None:
            return None
        chosen = rubric(settings.rubric)
        result = await self.caller.call(
            job.tenant, kind="judge", call_id=f"{job.request_id}:judge:{n}",
            parent_id=job.request_id, route=job.route, model=settings.model,
            messages=chosen.messages(job.question, answer),
            params={"max_tokens": JUDGE_MAX_TOKENS, "temperature": 0})
        if result is None:
            return None
        score = parse_grade(result.text)
        if score is None:
            self.metrics.call("judge", "unparsed")
            return None
        return Label(job.request_id, job.tenant.name, model, score, "judge", time.time(),
                     grader=judge_grader(settings.model, chosen.version))
