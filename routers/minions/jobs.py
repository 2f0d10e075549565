"""MinionS local jobs: one (task, chunk) pair each, run concurrently under a bound.

Each job returns `{explanation, citation, answer}`; answers that say nothing ("", null,
"not found" ...) are dropped before the remote sees them. A job whose model call fails is
dropped too (and traced); only when every job of a round fails does the error propagate, so
a dead local server is reported rather than answered around.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from routers.base import CallModel
from routers.minions import prompts
from routers.minions.chunking import Chunk
from routers.minions.parsing import as_text, first_json
from routers.minions.plan import Task
from routers.minions.selection import select_chunks
from routers.minions.settings import MinionsSettings
from routers.minions.structured import ask_structured
from routers.minions.tally import Tally

EMPTY_ANSWERS = frozenset({
    "", "null", "none", "n/a", "na", "nil", "unknown", "not found", "no answer", "nothing",
    "not mentioned", "not available", "not specified", "not stated", "no information",
    "not applicable", "no relevant information", "[]", "{}", "-",
})
_PUNCTUATION = re.compile(r"^[\s\"'`.,;:!()\[\]-]+|[\s\"'`.,;:!()\[\]-]+$")


@dataclass(frozen=True, slots=True)
class Job:
    task_index: int
    task: Task
    chunk: Chunk


@dataclass(frozen=True, slots=True)
class JobResult:
    """What one job reported. `structured` is False when it never produced the JSON asked."""

    job: Job
    explanation: str
    citation: str
    answer: str
    structured: bool = True

    def to_json(self, limit: int) -> dict[str, Any]:
        return {"task": self.job.task_index, "chunk": self.job.chunk.index,
                "section": self.job.chunk.section[:80], "answer": self.answer[:limit],
                "citation": self.citation[:limit], "explanation": self.explanation[:limit]}


@dataclass
class RoundOutcome:
    """A round's jobs: those with an answer, and counts for the trace."""

    answered: list[JobResult] = field(default_factory=list)
    jobs: int = 0
    empty: int = 0
    failed: int = 0
    unstructured: int = 0
    peak_parallel: int = 0


def is_empty_answer(answer: str) -> bool:
    return _PUNCTUATION.sub("", answer.strip().lower()) in EMPTY_ANSWERS


def plan_jobs(tasks: Sequence[Task], chunks: Sequence[Chunk], max_jobs: int) -> list[Job]:
    """Every task's selected chunks, interleaved across tasks so a cap drops work fairly."""
    per_task = [[Job(i, task, c) for c in select_chunks(task.rule, chunks)]
                for i, task in enumerate(tasks)]
    jobs: list[Job] = []
    for depth in range(max((len(p) for p in per_task), default=0)):
        jobs += [p[depth] for p in per_task if depth < len(p)]
    return jobs[:max_jobs]


def read_job(value: Any) -> dict[str, str] | None:
    """The three fields of a job's JSON; None when none of them is there."""
    if not isinstance(value, dict) or not {"answer", "citation", "explanation"} & set(value):
        return None
    return {k: as_text(value.get(k)) for k in ("explanation", "citation", "answer")}


class JobRunner:
    """Runs a round's jobs on the local model, at most `max_parallel` at a time."""

    def __init__(self, call: CallModel, tally: Tally, model: str, settings: MinionsSettings,
                 question: str):
        self.call = call
        self.tally = tally
        self.model = model
        self.settings = settings
        self.question = question
        self._in_flight = 0

    async def run(self, jobs: Sequence[Job]) -> RoundOutcome:
        outcome = RoundOutcome(jobs=len(jobs))
        gate = asyncio.Semaphore(self.settings.max_parallel)
        errors: list[Exception] = []

        async def one(job: Job) -> JobResult | None:
            async with gate:
                self._in_flight += 1
                outcome.peak_parallel = max(outcome.peak_parallel, self._in_flight)
                try:
                    return await self._run_job(job)
                except Exception as exc:  # noqa: BLE001 - one failed job is one missing answer
                    errors.append(exc)
                    self.tally.event("job_failed", chunk=job.chunk.index, task=job.task_index,
                                     error=f"{type(exc).__name__}: {exc}"[:300])
                    return None
                finally:
                    self._in_flight -= 1

        results = await asyncio.gather(*(one(job) for job in jobs))
        outcome.failed = len(errors)
        if jobs and len(errors) == len(jobs):
            raise errors[0]
        for result in results:
            if result is None:
                continue
            if is_empty_answer(result.answer):
                outcome.empty += 1
                continue
            outcome.unstructured += 0 if result.structured else 1
            outcome.answered.append(result)
        return outcome

    async def _run_job(self, job: Job) -> JobResult:
        section = f" (section: {job.chunk.section})" if job.chunk.section else ""
        messages = [
            {"role": "system", "content": prompts.MINIONS_LOCAL_SYSTEM},
            {"role": "user", "content": prompts.MINIONS_LOCAL_USER.format(
                index=job.chunk.index, section=section, text=job.chunk.text,
                instructions=job.task.instructions, question=self.question)},
        ]
        reply = await ask_structured(
            self.call, self.tally, self.model, messages,
            self.settings.local_call_params(json_mode=True), read_job,
            self.settings.local_json_retries, f"job {job.task_index}/{job.chunk.index}")
        if reply.value is not None:
            fields = reply.value
            return JobResult(job, fields["explanation"], fields["citation"], fields["answer"])
        # Prose instead of JSON still answers; JSON of the wrong shape says nothing usable.
        prose = "" if first_json(reply.text) is not None else reply.text.strip()
        return JobResult(job, "", "", prose, structured=False)


def format_results(results: Sequence[JobResult], limit: int, max_shown: int) -> str:
    """The answered jobs as JSON lines for the remote, capped at `max_shown` lines."""
    lines = [json.dumps(r.to_json(limit), ensure_ascii=False) for r in results[:max_shown]]
    if len(results) > max_shown:
        lines.append(f"({len(results) - max_shown} more answered job(s) not shown)")
    return "\n".join(lines) or "(no job found anything relevant)"
