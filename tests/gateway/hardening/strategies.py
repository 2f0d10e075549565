"""Hypothesis strategies for chat request bodies: valid ones, and ones broken in one place."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

MODELS = ["gpt-4o-mini", "gpt-4o", "mistralai/Mixtral-8x7B-Instruct-v0.1", "auto",
          "router:cheapest"]
ROLES = ["system", "developer", "user", "assistant", "tool", "function"]

# Text that stresses tokenizers and language ID: any code point JSON can carry (no lone
# surrogates: JSON parsers refuse them, tested on their own), control characters included.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
# The integers orjson reads as ints (wider ones arrive as floats).
json_scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
                | st.floats(allow_nan=False, allow_infinity=False) | texts)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children,
                                                                       max_size=4),
    max_leaves=20)


content_parts = st.lists(st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": texts}),
    st.fixed_dictionaries({"type": st.just("image_url"),
                           "image_url": st.fixed_dictionaries({"url": texts})})), max_size=3)

tool_calls = st.lists(st.fixed_dictionaries({
    "id": texts, "type": st.just("function"),
    "function": st.fixed_dictionaries({"name": texts, "arguments": texts})}), max_size=2)

MESSAGE_FIELDS = {"content": texts | content_parts | st.none(), "name": texts,
                  "tool_calls": tool_calls, "tool_call_id": texts}
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(ROLES)},
                                          optional=MESSAGE_FIELDS), min_size=1, max_size=4)

tools = st.lists(st.fixed_dictionaries(
    {"type": st.just("function"),
     "function": st.fixed_dictionaries(
         {"name": texts.filter(lambda name: 1 <= len(name) <= 256)},
         optional={"description": texts,
                   "parameters": st.just({"type": "object", "properties": {}})})}),
    max_size=3)

REQUIRED = {"model": st.sampled_from(MODELS), "messages": messages}
OPTIONAL = {
    "max_tokens": st.integers(1, 64),
    "max_completion_tokens": st.integers(1, 64),
    "n": st.just(1),
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "stream": st.booleans(),
    "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
    "tools": tools,
    "tool_choice": st.sampled_from(["auto", "none", "required"]),
    "stop": st.lists(texts, max_size=4),
    "user": texts,
    "seed": st.integers(0, 2**31),
    "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}]),
    "logit_bias": st.dictionaries(st.integers(0, 1000).map(str), st.integers(-100, 100),
                                  max_size=3),
    "metadata": json_values,
}
valid_chat_bodies = st.fixed_dictionaries(REQUIRED, optional=OPTIONAL)


@st.composite
def chat_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body; half the time with one thing broken: a field replaced by any JSON or
    dropped, or one field of one message replaced."""
    body: dict[str, Any] = draw(valid_chat_bodies)
    damage = draw(st.sampled_from(["none", "none", "field", "drop", "message"]))
    if damage == "field":
        body[draw(st.sampled_from(sorted({*REQUIRED, *OPTIONAL})))] = draw(json_values)
    elif damage == "drop":
        body.pop(draw(st.sampled_from(sorted(REQUIRED))))
    elif damage == "message":
        index = draw(st.integers(0, len(body["messages"]) - 1))
        field = draw(st.sampled_from(["role", *sorted(MESSAGE_FIELDS)]))
        body["messages"][index] = {**body["messages"][index], field: draw(json_values)}
    return body
