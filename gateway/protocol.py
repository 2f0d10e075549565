"""Wire models of the OpenAI chat API subset the gateway validates. No logic here.

Requests are validated for what the gateway itself relies on; every other field passes
through to the upstream untouched (`extra="allow"`), as OpenAI adds parameters often.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]

MAX_N = 16
MAX_TOKENS_CEILING = 1_000_000
# orjson parses 1024 levels but serialises only 254: a body between the two would be
# accepted and then fail (500) when forwarded. No chat request nests anywhere near 128.
MAX_JSON_DEPTH = 128


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` has more than `limit` levels of objects/arrays (no recursion)."""
    if not isinstance(value, (dict, list)):
        return limit < 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=256)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool | None = None


class ToolFunction(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    parameters: dict[str, Any] | None = None  # a JSON Schema object


class Tool(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    function: ToolFunction | None = None

    @model_validator(mode="after")
    def _function_tool_has_function(self) -> Tool:
        if self.type == "function" and self.function is None:
            raise ValueError("a tool of type 'function' needs `function`")
        return self


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=4096)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_CEILING)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_CEILING)
    n: int | None = Field(default=None, ge=1, le=MAX_N)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    tools: list[Tool] | None = Field(default=None, max_length=128)
    user: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_too_deep(cls, data: Any) -> Any:
        if isinstance(data, dict) and nests_deeper_than(data, MAX_JSON_DEPTH):
            raise ValueError(f"the body nests objects/arrays deeper than {MAX_JSON_DEPTH} levels")
        return data


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
