"""Splitting a chat request into the document (local only) and the question (shared).

The convention, in order of precedence:

1. **Explicit name markers.** Messages with `name: "document"` hold the document (several are
   joined with blank lines); a message with `name: "question"` holds the question.
2. **Inline tags.** A user message containing `<document>...</document>` holds the document
   inside the tags; the text outside the tags (if any) is the question.
3. **Default.** The longest user content is the document. The question is the last user
   message when that is a different message; when the document *is* the last user message,
   its final paragraph (after the last blank line) is the question and the rest the document.
   A single-paragraph message has no separable question: the remote is told only that the
   user sent a document and wants it handled.

Everything else (earlier turns, long system prompts) is appended to the document, so nothing
long reaches the remote by accident. Short system messages (under `share_system_tokens`) are
instructions from the application and are shared with the remote model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pricing.tokenizers import message_text

DOCUMENT_NAME = "document"
QUESTION_NAME = "question"
NO_QUESTION = "The user sent only a document. Respond to it as the user most likely wants."
_TAGGED = re.compile(r"<document>(.*?)</document>", re.DOTALL | re.IGNORECASE)

Source = Literal["name", "tags", "longest-user"]


@dataclass(frozen=True, slots=True)
class DocumentTask:
    """The request seen by the protocols: what only the local model reads, and the rest."""

    document: str
    question: str
    instructions: str  # short system messages: shared with the remote
    source: Source


def split_request(
    messages: Sequence[Mapping[str, Any]],
    count_tokens: Callable[[str], int],
    share_system_tokens: int = 200,
) -> DocumentTask:
    """The document, the question and the shareable instructions of `messages`."""
    texts = [message_text(m.get("content")) for m in messages]
    named = [i for i, m in enumerate(messages) if m.get("name") == DOCUMENT_NAME]
    if named:
        return _by_name(messages, texts, named, count_tokens, share_system_tokens)
    tagged = [i for i, t in enumerate(texts)
              if messages[i].get("role") == "user" and _TAGGED.search(t)]
    if tagged:
        return _by_tags(messages, texts, tagged[-1], count_tokens, share_system_tokens)
    return _by_length(messages, texts, count_tokens, share_system_tokens)


def _by_name(messages: Sequence[Mapping[str, Any]], texts: list[str], named: list[int],
             count: Callable[[str], int], share: int) -> DocumentTask:
    asked = [i for i, m in enumerate(messages) if m.get("name") == QUESTION_NAME]
    if asked:
        question_at: int | None = asked[-1]
    else:
        users = [i for i, m in enumerate(messages) if m.get("role") == "user" and i not in named]
        question_at = users[-1] if users else None
    question = texts[question_at].strip() if question_at is not None else NO_QUESTION
    parts = [texts[i] for i in named]
    used = set(named) | ({question_at} if question_at is not None else set())
    return _assemble(messages, texts, parts, question, used, count, share, "name")


def _by_tags(messages: Sequence[Mapping[str, Any]], texts: list[str], at: int,
             count: Callable[[str], int], share: int) -> DocumentTask:
    parts = [m.strip() for m in _TAGGED.findall(texts[at])]
    rest = _TAGGED.sub(" ", texts[at]).strip()
    question = rest or _last_other_user(messages, texts, {at}) or NO_QUESTION
    return _assemble(messages, texts, parts, question, {at}, count, share, "tags")


def _by_length(messages: Sequence[Mapping[str, Any]], texts: list[str],
               count: Callable[[str], int], share: int) -> DocumentTask:
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        return DocumentTask("", NO_QUESTION, "", "longest-user")
    longest = max(users, key=lambda i: (len(texts[i]), i))
    last = users[-1]
    if last != longest:
        parts, question = [texts[longest]], texts[last].strip()
        used = {longest, last}
    else:
        body, question = split_final_paragraph(texts[longest])
        parts, used = [body], {longest}
    return _assemble(messages, texts, parts, question or NO_QUESTION, used, count, share,
                     "longest-user")


def split_final_paragraph(text: str) -> tuple[str, str]:
    """`(everything before, final paragraph)`; `(text, "")` when there is one paragraph."""
    stripped = text.strip()
    head, sep, tail = stripped.rpartition("\n\n")
    if not sep or not head.strip():
        return stripped, ""
    return head.strip(), tail.strip()


def _last_other_user(messages: Sequence[Mapping[str, Any]], texts: list[str],
                     skip: set[int]) -> str:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user" and i not in skip and texts[i].strip():
            return texts[i].strip()
    return ""


def _assemble(messages: Sequence[Mapping[str, Any]], texts: list[str], parts: list[str],
              question: str, used: set[int], count: Callable[[str], int], share: int,
              source: Source) -> DocumentTask:
    instructions: list[str] = []
    context: list[str] = []
    for i, message in enumerate(messages):
        if i in used or not texts[i].strip():
            continue
        role = str(message.get("role", "user"))
        if role in ("system", "developer") and count(texts[i]) <= share:
            instructions.append(texts[i].strip())
        else:
            # Earlier turns may quote the document: they stay with the local model.
            context.append(f"[{role}] {texts[i].strip()}")
    document = "\n\n".join(p.strip() for p in parts if p.strip())
    if context:
        document += "\n\n# Earlier conversation\n\n" + "\n\n".join(context)
    return DocumentTask(document, question, "\n".join(instructions), source)
