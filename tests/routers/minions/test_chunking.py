"""Chunks respect sections, stay within size, overlap, and lose no text."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.tokenizers import HeuristicTokenizer
from routers.minions.chunking import chunk_document, split_sections
from tests.routers.minions.documents import filler_sentences, planted_document

COUNT = HeuristicTokenizer().count


def test_sections_are_found_and_never_crossed() -> None:
    doc = planted_document(12, {}, sections=("Intro", "Methods", "Results"))
    assert [s.title for s in split_sections(doc)] == ["Intro", "Methods", "Results"]
    chunks = chunk_document(doc, COUNT, chunk_tokens=60, overlap_tokens=0)
    for chunk in chunks:
        expected = {"Intro": range(4), "Methods": range(4, 8), "Results": range(8, 12)}
        numbers = [i for i in range(12) if f"Paragraph {i} " in chunk.text]
        assert numbers and all(i in expected[chunk.section] for i in numbers)


def test_chunks_fit_the_limit_and_consecutive_ones_overlap() -> None:
    doc = planted_document(20, {})
    chunks = chunk_document(doc, COUNT, chunk_tokens=80, overlap_tokens=35)
    assert len(chunks) > 2
    assert all(c.tokens <= 80 for c in chunks)
    for before, after in itertools.pairwise(chunks):
        last_paragraph = before.text.split("\n\n")[-1]
        assert after.text.startswith(last_paragraph)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_overlap_takes_trailing_sentences_of_a_long_paragraph() -> None:
    paragraphs = [" ".join(f"P{p} sentence {i} is about cargo." for i in range(6))
                  for p in range(4)]
    chunks = chunk_document("\n\n".join(paragraphs), COUNT, chunk_tokens=80,
                            overlap_tokens=20)
    assert len(chunks) == 4
    for before, after in itertools.pairwise(chunks):
        carried = after.text.split("\n\n")[0]
        assert carried and before.text.endswith(carried)
        assert COUNT(carried) <= 20


def test_every_paragraph_lands_in_a_chunk() -> None:
    chunks = chunk_document(planted_document(30, {}), COUNT, chunk_tokens=100,
                            overlap_tokens=20)
    joined = "\n".join(c.text for c in chunks)
    assert all(s in joined for s in filler_sentences(30))


def test_an_oversized_paragraph_is_cut_at_sentences_and_words() -> None:
    paragraph = " ".join(f"Sentence {i} is here." for i in range(100)) + " " + "word " * 300
    chunks = chunk_document(paragraph, COUNT, chunk_tokens=50, overlap_tokens=0)
    assert len(chunks) > 5
    assert all(c.tokens <= 50 for c in chunks)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        chunk_document("x", COUNT, chunk_tokens=10, overlap_tokens=10)
    with pytest.raises(ValueError):
        chunk_document("x", COUNT, chunk_tokens=0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="abc xyz.\n#", min_size=1, max_size=200), max_size=12),
       st.integers(min_value=5, max_value=80))
def test_no_word_is_lost(parts: list[str], limit: int) -> None:
    doc = "\n\n".join(parts)
    chunks = chunk_document(doc, COUNT, chunk_tokens=limit, overlap_tokens=limit // 3)
    text = " ".join(f"{c.section} {c.text}" for c in chunks)
    for word in doc.replace("#", " ").split():
        assert word.strip(".") in text
