"""Declarative chunk selection, and the keyword ranking behind the chat protocol."""

from __future__ import annotations

from routers.minions.chunking import Chunk
from routers.minions.selection import content_words, most_relevant, select_chunks

CHUNKS = [
    Chunk(0, "Intro", "The company was founded in 1990 in Oslo.", 10),
    Chunk(1, "Finance", "Revenue in 2023 was 4 million euros. Revenue grew.", 12),
    Chunk(2, "Finance", "Costs in 2023 rose by 5 percent.", 9),
    Chunk(3, "Outlook", "Revenue targets for 2025 are ambitious.", 9),
]


def ids(chunks: list[Chunk]) -> list[int]:
    return [c.index for c in chunks]


def test_all_and_default() -> None:
    assert ids(select_chunks({"chunks": "all"}, CHUNKS)) == [0, 1, 2, 3]
    assert ids(select_chunks({}, CHUNKS)) == [0, 1, 2, 3]


def test_explicit_indices_ignore_out_of_range_and_non_integers() -> None:
    assert ids(select_chunks({"chunks": [3, 0, 99, "1", True]}, CHUNKS)) == [0, 3]


def test_keywords_rank_by_matches() -> None:
    assert ids(select_chunks({"keywords": ["revenue"]}, CHUNKS)) == [1, 3]
    assert ids(select_chunks({"keywords": ["2023", "costs"]}, CHUNKS)) == [2, 1]
    assert ids(select_chunks({"keywords": "oslo"}, CHUNKS)) == [0]
    assert select_chunks({"keywords": ["absent"]}, CHUNKS) == []


def test_section_matches_title_substring() -> None:
    assert ids(select_chunks({"section": "finance"}, CHUNKS)) == [1, 2]
    assert select_chunks({"section": "nowhere"}, CHUNKS) == []


def test_malformed_rules_select_everything() -> None:
    assert ids(select_chunks({"chunks": "some"}, CHUNKS)) == [0, 1, 2, 3]
    assert ids(select_chunks({"section": 5}, CHUNKS)) == [0, 1, 2, 3]


def test_most_relevant_respects_budget_and_reading_order() -> None:
    picked = most_relevant("What was the revenue in 2023?", CHUNKS, budget_tokens=21)
    assert ids(picked) == [1, 2]


def test_content_words_drop_stopwords() -> None:
    assert content_words("What was the revenue in 2023?") == ["revenue", "2023"]
