"""Reading JSON out of what models actually write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from routers.minions.parsing import as_text, first_json, first_json_object


def test_plain_object() -> None:
    assert first_json_object('{"answer": "42"}') == {"answer": "42"}


def test_object_inside_prose_and_code_fence() -> None:
    text = 'Sure! Here it is:\n```json\n{"decision": "provide_final_answer", "answer": "x"}\n```'
    assert first_json_object(text) == {"decision": "provide_final_answer", "answer": "x"}


def test_trailing_comma_and_missing_brace_are_repaired() -> None:
    assert first_json_object('{"a": 1, "b": [1, 2,],}') == {"a": 1, "b": [1, 2]}
    assert first_json_object('{"answer": "cut off here') == {"answer": "cut off here"}


def test_escaped_quotes_survive_repair() -> None:
    assert first_json_object('{"answer": "he said \\"hi\\"') == {"answer": 'he said "hi"'}


def test_array_and_first_object_of_array() -> None:
    assert first_json('[{"instructions": "a"}]') == [{"instructions": "a"}]
    assert first_json_object('[1, {"k": 2}]') == {"k": 2}


def test_no_json_is_none() -> None:
    assert first_json("I think the answer is 42.") is None
    assert first_json_object("{not json at all") is None
    assert first_json_object("[1, 2]") is None


def test_stray_brackets_before_the_object_are_skipped() -> None:
    assert first_json_object('see [note] {x} then {"answer": 3}') == {"answer": 3}


@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    first_json(text)
    first_json_object(text)


def test_as_text() -> None:
    assert as_text(None) == ""
    assert as_text("  a ") == "a"
    assert as_text(3) == "3"
    assert as_text({"k": 1}) == '{"k": 1}'
