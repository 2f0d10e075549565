"""MinionS: the remote plans jobs over chunks, the local model runs them, the remote answers.

Round 1 starts with a declarative plan (JSON tasks with chunk-selection rules; see
`routers.minions.selection`). After each round the remote sees the non-empty job results and
either answers or asks for another round with feedback (and, optionally, new tasks). The last
round forces an answer. Malformed plans fall back to asking every chunk the question itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from routers.base import CallModel, Orchestration
from routers.minions import prompts
from routers.minions.chunking import Chunk, chunk_document
from routers.minions.document import DocumentTask
from routers.minions.jobs import JobRunner, format_results, plan_jobs
from routers.minions.plan import Task, fallback_plan, read_plan
from routers.minions.settings import MinionsSettings, Pair
from routers.minions.structured import ask_structured
from routers.minions.tally import Tally
from routers.minions.turns import RemoteTurn, as_final, fallback_answer, read_turn

Conversation = list[Mapping[str, Any]]


def outline(chunks: Sequence[Chunk]) -> str:
    """Section titles with their chunk ranges: the only view of the document the remote gets."""
    spans: dict[str, list[int]] = {}
    for chunk in chunks:
        spans.setdefault(chunk.section, []).append(chunk.index)
    lines = [f"- {title[:80] or '(untitled)'}: chunks {ids[0]}-{ids[-1]}"
             for title, ids in spans.items()]
    if len(lines) <= 1:
        return ""
    return prompts.OUTLINE.format(lines="\n".join(lines[:60]))


class MinionsRun:
    """One request's MinionS protocol: its chunks, remote conversation and tally."""

    def __init__(self, task: DocumentTask, pair: Pair, settings: MinionsSettings,
                 call: CallModel):
        self.task, self.pair, self.settings, self.call = task, pair, settings, call
        self.tally = Tally()
        self.chunks = chunk_document(task.document, settings.token_counter(),
                                     settings.chunk_tokens, settings.overlap_tokens)
        self.runner = JobRunner(call, self.tally, pair.local, settings, task.question)
        self.remote_params = settings.remote_call_params()
        shared_outline = outline(self.chunks) if settings.share_outline else ""
        self.conversation: Conversation = [
            {"role": "system", "content": prompts.MINIONS_REMOTE_SYSTEM.format(
                n_chunks=len(self.chunks), last_chunk=max(len(self.chunks) - 1, 0),
                outline=shared_outline, max_tasks=settings.max_tasks)},
            {"role": "user", "content": prompts.MINIONS_REMOTE_START.format(
                question=task.question,
                instructions=prompts.instructions_note(task.instructions))},
        ]

    async def run(self) -> Orchestration:
        self.tally.event("chunked", chunks=len(self.chunks),
                         chunk_tokens=[c.tokens for c in self.chunks])
        tasks = await self._plan(1)
        rounds, answer = 0, ""
        for rounds in range(1, self.settings.max_rounds + 1):
            last = rounds == self.settings.max_rounds
            jobs = plan_jobs(tasks, self.chunks, self.settings.max_jobs)
            outcome = await self.runner.run(jobs)
            self.tally.event("jobs", round=rounds, jobs=outcome.jobs,
                             answered=len(outcome.answered), empty=outcome.empty,
                             failed=outcome.failed, unstructured=outcome.unstructured,
                             peak_parallel=outcome.peak_parallel,
                             max_parallel=self.settings.max_parallel)
            results = format_results(outcome.answered, self.settings.result_chars,
                                     self.settings.max_results_shown)
            template = prompts.MINIONS_REMOTE_FORCE if last else prompts.MINIONS_REMOTE_RESULTS
            self._say(template.format(round=rounds, max_rounds=self.settings.max_rounds,
                                      jobs=outcome.jobs, answered=len(outcome.answered),
                                      results=results))
            turn, text = await self._decide(rounds, must_answer=last)
            if turn is None or turn.final:
                answer = turn.answer if turn is not None else fallback_answer(text)
                self.tally.event("final", round=rounds, forced=last, parsed=turn is not None)
                break
            self.conversation.append({"role": "assistant", "content": text})
            self.tally.event("more", round=rounds, feedback=turn.request[:300],
                             tasks=len(turn.tasks or []))
            tasks = turn.tasks or await self._plan(rounds + 1, turn.request)
        final = as_final(self.tally.stages[-1], answer)
        summary = self.tally.summary(
            "minions", rounds, local_model=self.pair.local, remote_model=self.pair.remote,
            chunks=len(self.chunks))
        return Orchestration(final=final, stages=list(self.tally.stages),
                             trace=self.tally.trace(summary))

    def _say(self, content: str) -> None:
        self.conversation.append({"role": "user", "content": content})

    async def _plan(self, round_number: int, feedback: str | None = None) -> list[Task]:
        if feedback is not None:
            self._say(prompts.MINIONS_REMOTE_REPLAN.format(feedback=feedback or "(none)"))
        max_tasks = self.settings.max_tasks

        def read(value: Any) -> list[Task] | None:
            return read_plan(value, max_tasks)

        reply = await ask_structured(self.call, self.tally, self.pair.remote,
                                     self.conversation, self.remote_params, read,
                                     self.settings.json_retries, f"plan {round_number}")
        tasks = reply.value or fallback_plan(self.task.question)
        # The remote's context shows the plan that actually ran, even when it was a fallback.
        executed = json.dumps({"tasks": [t.to_json() for t in tasks]}, ensure_ascii=False)
        self.conversation.append(
            {"role": "assistant", "content": reply.text if reply.value else executed})
        self.tally.event("plan", round=round_number, fallback=reply.value is None,
                         tasks=[t.to_json() for t in tasks])
        return tasks

    async def _decide(self, round_number: int, must_answer: bool,
                      ) -> tuple[RemoteTurn | None, str]:
        max_tasks = self.settings.max_tasks

        def read(value: Any) -> RemoteTurn | None:
            return read_turn(value, must_answer=must_answer, max_tasks=max_tasks)

        reply = await ask_structured(self.call, self.tally, self.pair.remote,
                                     self.conversation, self.remote_params, read,
                                     self.settings.json_retries, f"decide {round_number}")
        return reply.value, reply.text


async def run_minions(task: DocumentTask, pair: Pair, settings: MinionsSettings,
                      call: CallModel) -> Orchestration:
    """Answers `task` with MinionS; the remote sees the outline and job results only."""
    return await MinionsRun(task, pair, settings, call).run()
