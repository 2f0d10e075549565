"""Stripping Anthropic's cache breakpoints before an OpenAI-wire upstream."""

from __future__ import annotations

from gateway.upstream.cache_marks import without_cache_marks


def test_unmarked_messages_are_returned_as_they_are() -> None:
    messages = [{"role": "user", "content": "hi"},
                {"role": "user", "content": [{"type": "text", "text": "a"}]}]
    assert without_cache_marks(messages) is messages


def test_marks_are_dropped_and_the_input_left_alone() -> None:
    part = {"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}
    messages = [{"role": "system", "content": [part]}, {"role": "user", "content": "q"}]
    plain = without_cache_marks(messages)
    assert plain == [{"role": "system", "content": [{"type": "text", "text": "a"}]},
                     {"role": "user", "content": "q"}]
    assert "cache_control" in part  # the caller's body is not mutated
    assert plain[1] is messages[1]
