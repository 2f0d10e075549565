"""Which part of a chat is the document (local only) and which the question (shared)."""

from __future__ import annotations

from pricing.tokenizers import HeuristicTokenizer
from routers.minions.document import NO_QUESTION, split_final_paragraph, split_request

COUNT = HeuristicTokenizer().count
LONG = "A long report. " * 200


def test_longest_user_message_is_the_document_and_last_user_the_question() -> None:
    task = split_request([{"role": "user", "content": LONG},
                          {"role": "user", "content": "What does it report?"}], COUNT)
    assert task.document == LONG.strip()
    assert task.question == "What does it report?"
    assert task.source == "longest-user"


def test_single_message_splits_off_its_final_paragraph_as_the_question() -> None:
    task = split_request([{"role": "user", "content": LONG + "\n\nSummarise the report."}],
                         COUNT)
    assert task.question == "Summarise the report."
    assert "Summarise" not in task.document
    assert task.document == LONG.strip()


def test_single_paragraph_has_no_question_to_share() -> None:
    task = split_request([{"role": "user", "content": LONG}], COUNT)
    assert task.question == NO_QUESTION
    assert task.document == LONG.strip()


def test_name_markers_win_over_length() -> None:
    messages = [
        {"role": "user", "name": "document", "content": "short doc"},
        {"role": "user", "content": LONG},
        {"role": "user", "name": "question", "content": "Q?"},
    ]
    task = split_request(messages, COUNT)
    assert task.source == "name"
    assert task.document.startswith("short doc")
    assert task.question == "Q?"
    assert LONG.strip() in task.document  # unmarked long text stays local, never shared


def test_several_document_messages_are_joined() -> None:
    messages = [{"role": "user", "name": "document", "content": "part one"},
                {"role": "user", "name": "document", "content": "part two"},
                {"role": "user", "content": "Compare them."}]
    task = split_request(messages, COUNT)
    assert task.document == "part one\n\npart two"
    assert task.question == "Compare them."


def test_document_tags_inside_a_user_message() -> None:
    task = split_request([{"role": "user",
                           "content": "<document>the body</document>\nWho wrote it?"}], COUNT)
    assert task.source == "tags"
    assert task.document == "the body"
    assert task.question == "Who wrote it?"


def test_short_system_prompt_is_shared_long_one_stays_local() -> None:
    messages = [{"role": "system", "content": "Answer in French."},
                {"role": "system", "content": LONG},
                {"role": "user", "content": "x " * 3000},
                {"role": "user", "content": "Q?"}]
    task = split_request(messages, COUNT, share_system_tokens=50)
    assert task.instructions == "Answer in French."
    assert LONG.strip() in task.document


def test_content_parts_are_read() -> None:
    task = split_request([{"role": "user", "content": [{"type": "text", "text": LONG}]},
                          {"role": "user", "content": "Q?"}], COUNT)
    assert task.document == LONG.strip()


def test_no_user_message_means_no_document() -> None:
    task = split_request([{"role": "system", "content": "hi"}], COUNT)
    assert task.document == ""


def test_split_final_paragraph() -> None:
    assert split_final_paragraph("a\n\nb\n\nc?") == ("a\n\nb", "c?")
    assert split_final_paragraph("only one") == ("only one", "")
