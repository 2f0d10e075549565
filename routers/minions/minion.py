"""Minion: the remote model chats with the local model, which alone reads the document.

Each round the remote either asks the local model one question or gives the final answer;
after `max_rounds` questions it must answer. The remote's replies are JSON, read tolerantly
and retried; a reply that never parses ends the chat with the best answer it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routers.base import CallModel, Orchestration
from routers.minions import prompts
from routers.minions.chunking import chunk_document
from routers.minions.document import DocumentTask
from routers.minions.selection import most_relevant
from routers.minions.settings import MinionsSettings, Pair
from routers.minions.structured import ask_structured
from routers.minions.tally import Tally
from routers.minions.turns import RemoteTurn, as_final, fallback_answer, read_turn

Message = dict[str, Any]


class LocalReader:
    """The local side: the document (or, when too long, its most relevant chunks) + history."""

    def __init__(self, task: DocumentTask, settings: MinionsSettings):
        self.task = task
        self.settings = settings
        self.history: list[Message] = []
        count = settings.token_counter()
        budget = settings.local_context_tokens
        self._chunks = (None if count(task.document) <= budget else
                        chunk_document(task.document, count, settings.chunk_tokens,
                                       settings.overlap_tokens))

    def messages(self, question: str) -> list[Message]:
        document, note = self.task.document, ""
        if self._chunks is not None:
            picked = most_relevant(f"{question}\n{self.task.question}", self._chunks,
                                   self.settings.local_context_tokens)
            document = "\n\n[...]\n\n".join(c.text for c in picked)
            note = prompts.EXCERPT_NOTE
        system = prompts.MINION_LOCAL_SYSTEM.format(
            excerpt_note=note, document=document, question=self.task.question)
        return [{"role": "system", "content": system}, *self.history,
                {"role": "user", "content": question}]

    def remember(self, question: str, answer: str) -> None:
        self.history += [{"role": "user", "content": question},
                         {"role": "assistant", "content": answer}]


async def run_minion(task: DocumentTask, pair: Pair, settings: MinionsSettings,
                     call: CallModel) -> Orchestration:
    """Answers `task` by a bounded remote↔local chat; the remote never sees the document."""
    tally = Tally()
    reader = LocalReader(task, settings)
    remote_params = settings.remote_call_params()
    conversation: list[Mapping[str, Any]] = [
        {"role": "system",
         "content": prompts.MINION_REMOTE_SYSTEM.format(max_rounds=settings.max_rounds)},
        {"role": "user", "content": prompts.MINION_REMOTE_START.format(
            question=task.question, instructions=prompts.instructions_note(task.instructions))},
    ]
    asked = 0
    while True:
        must_answer = asked >= settings.max_rounds

        def read(value: Any, must: bool = must_answer) -> RemoteTurn | None:
            return read_turn(value, must_answer=must)

        reply = await ask_structured(call, tally, pair.remote, conversation, remote_params,
                                     read, settings.json_retries, f"remote round {asked + 1}")
        turn = reply.value
        if turn is None or turn.final:
            answer = turn.answer if turn is not None else fallback_answer(reply.text)
            tally.event("final", round=asked + 1, forced=must_answer, parsed=turn is not None)
            break
        local = tally.record(await call(pair.local, reader.messages(turn.request),
                                        settings.local_call_params(json_mode=False)))
        local_answer = local.text.strip() or "(no answer)"
        reader.remember(turn.request, local_answer)
        asked += 1
        tally.event("exchange", round=asked, question=turn.request[:300],
                    local_answer=local_answer[:300])
        template = (prompts.MINION_REMOTE_FORCE if asked >= settings.max_rounds
                    else prompts.MINION_REMOTE_NEXT)
        conversation = [*conversation, {"role": "assistant", "content": reply.text},
                        {"role": "user", "content": template.format(
                            answer=local_answer, asked=asked, max_rounds=settings.max_rounds)}]
    final = as_final(tally.stages[-1], answer)
    summary = tally.summary("minion", asked, local_model=pair.local, remote_model=pair.remote)
    return Orchestration(final=final, stages=list(tally.stages), trace=tally.trace(summary))
