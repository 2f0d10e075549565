"""Cutting a long document into overlapping chunks that respect its sections.

Sections are Markdown headings (`#` to `######`). Inside a section, text is packed paragraph by
paragraph up to `chunk_tokens`; a paragraph that alone is too long is cut at sentences, and
a sentence that alone is too long at words. Consecutive chunks of one section share about
`overlap_tokens` of text so that a fact straddling a boundary is whole in one of them. Chunks
never cross a section boundary, so a `{"section": ...}` job sees only that section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")

CountTokens = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of the document, numbered from 0 in reading order."""

    index: int
    section: str
    text: str
    tokens: int


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    text: str


def split_sections(document: str) -> list[Section]:
    """The document's sections in order; text before the first heading has title ""."""
    sections: list[Section] = []
    cursor, title = 0, ""
    for match in _HEADING.finditer(document):
        sections.append(Section(title, document[cursor:match.start()]))
        title, cursor = match.group(1).strip(), match.end()
    sections.append(Section(title, document[cursor:]))
    return [s for s in sections if s.text.strip() or s.title]


def chunk_document(document: str, count: CountTokens, chunk_tokens: int = 800,
                   overlap_tokens: int = 80) -> list[Chunk]:
    """The document as chunks of at most ~`chunk_tokens`, overlapping by ~`overlap_tokens`."""
    if chunk_tokens < 1 or not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError("need chunk_tokens >= 1 and 0 <= overlap_tokens < chunk_tokens")
    chunks: list[Chunk] = []
    for section in split_sections(document):
        # A heading with no body is still text the document holds: it becomes its own chunk.
        body = section.text if section.text.strip() else section.title
        units = _units(body, count, chunk_tokens)
        for text, tokens in _pack(units, chunk_tokens, overlap_tokens, count):
            chunks.append(Chunk(len(chunks), section.title, text, tokens))
    return chunks


def _units(text: str, count: CountTokens, limit: int) -> list[tuple[str, int]]:
    """Paragraphs, or sentences/word runs of paragraphs too long for one chunk."""
    out: list[tuple[str, int]] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        tokens = count(paragraph)
        if tokens <= limit:
            out.append((paragraph, tokens))
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            out.extend(_words(sentence, count, limit))
    return out


def _words(sentence: str, count: CountTokens, limit: int) -> list[tuple[str, int]]:
    tokens = count(sentence)
    if tokens <= limit:
        return [(sentence, tokens)] if sentence.strip() else []
    words = sentence.split()
    if len(words) <= 1:  # one giant "word" (a URL, base64): cut by characters
        step = max(1, len(sentence) * limit // tokens)
        return [(sentence[i:i + step], count(sentence[i:i + step]))
                for i in range(0, len(sentence), step)]
    out: list[tuple[str, int]] = []
    run: list[str] = []
    for word in words:
        if run and count(" ".join([*run, word])) > limit:
            out.append((" ".join(run), count(" ".join(run))))
            run = []
        run.append(word)
    if run:
        out.append((" ".join(run), count(" ".join(run))))
    return out


def _pack(units: list[tuple[str, int]], limit: int, overlap: int,
          count: CountTokens) -> list[tuple[str, int]]:
    chunks: list[tuple[str, int]] = []
    current: list[tuple[str, int]] = []
    fresh = False  # whether `current` holds anything beyond the carried-over overlap
    for unit in units:
        if current and fresh and sum(t for _, t in current) + unit[1] > limit:
            chunks.append(_join(current))
            current = _tail(current, overlap, limit - unit[1], count)
        current.append(unit)
        fresh = True
    if current and fresh:
        chunks.append(_join(current))
    return chunks


def _tail(units: list[tuple[str, int]], overlap: int, room: int, count: CountTokens,
          ) -> list[tuple[str, int]]:
    """The end of a chunk worth at most `overlap` tokens (and fitting in `room`): whole
    units, then the trailing sentences of the unit that does not fit whole."""
    budget = min(overlap, room)
    tail: list[tuple[str, int]] = []
    total = 0
    for text, tokens in reversed(units):
        if total + tokens <= budget:
            tail.insert(0, (text, tokens))
            total += tokens
            continue
        sentences = _SENTENCE_END.split(text)
        kept: list[str] = []
        for sentence in reversed(sentences[1:]):  # never the whole unit: that did not fit
            if total + count(" ".join([sentence, *kept])) > budget:
                break
            kept.insert(0, sentence)
        if kept:
            piece = " ".join(kept)
            tail.insert(0, (piece, count(piece)))
        break
    return tail


def _join(units: list[tuple[str, int]]) -> tuple[str, int]:
    return "\n\n".join(text for text, _ in units), sum(t for _, t in units)
