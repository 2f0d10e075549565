"""A rule-based remote that follows the Minion/MinionS protocols, standing in for GPT-4o.

It never sees the document (it only reads what the protocol sends it) and does not know the
gold answer. Its replies are short JSON, so its output tokens understate what a real remote
model would write; its input tokens are exactly what the protocol sends.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from routers.minions.selection import content_words


def _question(messages: Sequence[Mapping[str, Any]]) -> str:
    first = str(messages[1]["content"])
    return first.split("The user's question:\n", 1)[-1].split("\n\n", 1)[0].strip()


def _normalise(answer: str) -> str:
    return answer.strip().strip(".").strip()


@dataclass
class OracleRemote:
    """Plans one task over every chunk, then takes the most frequent worker answer."""

    seen_answers: list[str] = field(default_factory=list)

    def reply(self, messages: Sequence[Mapping[str, Any]]) -> str:
        system, last = str(messages[0]["content"]), str(messages[-1]["content"])
        question = _question(messages)
        if "worker models" in system:
            return self._minions(question, last)
        return self._minion(question, last)

    def _minions(self, question: str, last: str) -> str:
        if "Worker results" not in last:
            instructions = (f"If this chunk answers the question '{question}', give only the "
                            "answer value (a word, name or number); otherwise answer null.")
            if "next round" in last:  # a re-plan: narrow to chunks with the question's words
                return json.dumps({"tasks": [{"instructions": instructions,
                                              "keywords": content_words(question)}]})
            return json.dumps({"tasks": [{"instructions": instructions, "chunks": "all"}]})
        answers = [json.loads(line).get("answer", "") for line in last.splitlines()
                   if line.startswith("{")]
        answers = [_normalise(str(a)) for a in answers if a]
        self.seen_answers += answers
        if answers:
            best = Counter(answers).most_common(1)[0][0]
            return json.dumps({"decision": "provide_final_answer", "answer": best})
        if "No more rounds" in last:
            return json.dumps({"decision": "provide_final_answer", "answer": "unknown"})
        return json.dumps({"decision": "request_additional_info",
                           "feedback": "no worker found it; narrow the search"})

    def _minion(self, question: str, last: str) -> str:
        if "The assistant replied:" not in last:
            return json.dumps({"decision": "request_additional_info", "message": question})
        reply = last.split("The assistant replied:\n", 1)[1].split("\n\n", 1)[0].strip()
        self.seen_answers.append(reply)
        return json.dumps({"decision": "provide_final_answer", "answer": reply})
