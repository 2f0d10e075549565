"""Which chunks a job reads: declarative selectors, and keyword ranking for the chat protocol.

A selector is data the remote model writes, never code:

- `{"chunks": "all"}` — every chunk (the default when a task names no rule);
- `{"chunks": [0, 3]}` — the chunks with these indices (out-of-range ones are ignored);
- `{"keywords": ["revenue", "2023"]}` — chunks containing any keyword (case-insensitive),
  most matches first;
- `{"section": "Results"}` — chunks whose section title contains this text (case-insensitive).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from routers.minions.chunking import Chunk

_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to say anything about which chunk answers a question.
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "how", "i", "in", "is", "it", "its", "me", "of", "on", "or",
    "our", "please", "tell", "that", "the", "their", "there", "these", "this", "to", "was", "we",
    "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would",
    "you", "your", "about", "document", "text", "give", "find",
})


def select_chunks(rule: Mapping[str, Any], chunks: Sequence[Chunk]) -> list[Chunk]:
    """The chunks `rule` selects; an unknown or malformed rule selects every chunk."""
    if "keywords" in rule:
        return _by_keywords(_strings(rule["keywords"]), chunks)
    if "section" in rule and isinstance(rule["section"], str):
        wanted = rule["section"].strip().lower()
        return [c for c in chunks if wanted and wanted in c.section.lower()]
    wanted_ids = rule.get("chunks", "all")
    if isinstance(wanted_ids, list):
        ids = {int(i) for i in wanted_ids if isinstance(i, int) and not isinstance(i, bool)}
        return [c for c in chunks if c.index in ids]
    return list(chunks)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _by_keywords(keywords: list[str], chunks: Sequence[Chunk]) -> list[Chunk]:
    lowered = [k.lower().strip() for k in keywords if k.strip()]
    scored = [(sum(chunk.text.lower().count(k) for k in lowered), chunk) for chunk in chunks]
    hits = [(score, chunk) for score, chunk in scored if score > 0]
    hits.sort(key=lambda pair: (-pair[0], pair[1].index))
    return [chunk for _, chunk in hits]


def content_words(text: str) -> list[str]:
    """The words of `text` that could identify where an answer is, lowercased, deduplicated."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in _STOPWORDS and (len(word) > 2 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


def most_relevant(query: str, chunks: Sequence[Chunk], budget_tokens: int) -> list[Chunk]:
    """Chunks sharing the most words with `query`, up to `budget_tokens`, in reading order.

    Used when the whole document does not fit the local model's window: each question from
    the remote is answered from the part of the document most likely to hold the answer.
    """
    words = content_words(query)
    ranked = sorted(chunks, key=lambda c: (-_overlap(words, c.text), c.index))
    chosen: list[Chunk] = []
    used = 0
    for chunk in ranked:
        if used + chunk.tokens > budget_tokens and chosen:
            continue
        chosen.append(chunk)
        used += chunk.tokens
    return sorted(chosen, key=lambda c: c.index)


def _overlap(words: list[str], text: str) -> int:
    present = set(_WORD.findall(text.lower()))
    return sum(1 for w in words if w in present)
