"""Which text of a prompt or chat gets embedded, and the normal form used to compare prompts.

MiniLM reads at most 256 word pieces and silently drops the rest. Two kinds of prompt defeat
it unless we choose the text:

* **Few-shot prompts** (MMLU 5-shot, FrugalGPT's HEADLINES/AGNEWS prefixes) open with the
  same worked examples. Embedded whole, every prompt of a task is the shared prefix and all
  of them land on (almost) the same vector. We embed only the final, unanswered question:
  the text after the last *answered* example (a line such as ``Answer: B`` or ``A: up``).
  bench/knn/text_choice.py shows on the data how much this separates prompts.
* **Multi-turn chats.** The turn being answered decides the difficulty, so the last user
  turn comes first (MiniLM truncates from the end) followed by earlier turns, newest first,
  until a character budget is spent. System prompts are skipped: they are a tenant's fixed
  preamble, i.e. another shared prefix.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from pricing.tokenizers import message_text

# About 256 MiniLM word pieces of English; the context tail beyond it would be cut anyway.
CONTEXT_CHAR_BUDGET = 1000
CONTEXT_TURN_CHARS = 300

# An answered example: "Answer: B", "A: up", "Label: Sports", "Output: 42" alone on a line.
_ANSWERED = re.compile(r"(?im)^[ \t]*(answer|a|label|output)[ \t]*:[ \t]*\S[^\n]*$")
# RouterBench's ARC and Winogrande shots: "... Answer:" then the letter alone on the next line.
_ANSWERED_LETTER = re.compile(r"(?im)answer[ \t]*:[ \t]*\n[ \t]*[A-E][ \t]*$")
# The prompt ends by asking for the answer ("Answer:", "A:").
_OPEN_ANSWER = re.compile(r"(?is)(answer|a|label|output)[ \t]*:[ \t]*$")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The comparison form of a prompt: NFKC, case-folded, whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def text_hash(text: str) -> str:
    """A stable key for a prompt: sha256 of its normal form (hex, 32 chars)."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:32]


def final_question(prompt: str) -> str:
    """The part of a few-shot prompt that differs between prompts: its last, open question.

    Prompts without answered examples before an open answer slot are returned unchanged.
    """
    stripped = prompt.rstrip()
    if not _OPEN_ANSWER.search(stripped):
        return prompt
    ends = [m.end() for m in _ANSWERED.finditer(stripped)]
    ends += [m.end() for m in _ANSWERED_LETTER.finditer(stripped)]
    if not ends:
        return prompt
    tail = stripped[max(ends) :].strip()
    return tail or prompt


def embedding_text(prompt: str) -> str:
    """The text to embed for a stored single-turn prompt."""
    return final_question(prompt).strip()


def messages_embedding_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text to embed for a chat: last user turn, then earlier turns (newest first)."""
    turns = [
        (str(m.get("role", "")), message_text(m.get("content")))
        for m in messages
        if m.get("role") != "system"
    ]
    last_user = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
    if last_user is None:
        return " ".join(text for _, text in turns).strip()
    parts = [embedding_text(turns[last_user][1])]
    budget = CONTEXT_CHAR_BUDGET - len(parts[0])
    for i in range(len(turns) - 1, -1, -1):
        if i == last_user or budget <= 0:
            continue
        snippet = turns[i][1][:CONTEXT_TURN_CHARS][:budget]
        parts.append(snippet)
        budget -= len(snippet)
    return "\n".join(p for p in parts if p).strip()
