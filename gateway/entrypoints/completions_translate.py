"""Legacy text completions onto chat: the prompt as one user message, the answer as text.

What chat cannot give back is refused with a 400 that names it: token-array and batched
prompts (send one string per request), `echo`, `logprobs`, `best_of` above `n`, `suffix`.
"""

from __future__ import annotations

import time
from typing import Any

from gateway.entrypoints.completions_wire import CompletionRequest
from gateway.errors import InvalidRequest

# Chat parameters a text completion means the same way; everything else is not forwarded.
PASSED = ("max_tokens", "n", "temperature", "top_p", "stop", "presence_penalty",
          "frequency_penalty", "logit_bias", "seed", "user", "metadata")


def prompt_text(request: CompletionRequest) -> str:
    prompt = request.prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        raise InvalidRequest(
            "A batch of prompts is not supported here: send one prompt per request.",
            param="prompt", code="unsupported_value")
    if isinstance(prompt, list):
        raise InvalidRequest(
            "Token-array prompts are not supported: this gateway routes between models with "
            "different tokenizers, so send the prompt as text.", param="prompt",
            code="unsupported_value")
    raise InvalidRequest("`prompt` is required: a string.", param="prompt")


# Why each parameter that chat cannot honour is refused, as the error says it.
UNSUPPORTED = {
    "echo": "chat models do not return the prompt with the answer",
    "logprobs": "ask /v1/chat/completions with `logprobs: true` and `top_logprobs` instead",
    "suffix": "chat models do not insert text before a suffix",
    "best_of": "choosing the best of more answers than `n` needs the upstream's own ranking",
}


def to_chat_body(request: CompletionRequest) -> dict[str, Any]:
    for name, wrong in (("echo", bool(request.echo)), ("logprobs", request.logprobs is not None),
                        ("suffix", bool(request.suffix)),
                        ("best_of", (request.best_of or 1) > (request.n or 1))):
        if wrong:
            raise InvalidRequest(
                f"`{name}` is not supported: completions are served by chat models here; "
                f"{UNSUPPORTED[name]}.", param=name, code="unsupported_parameter")
    fields = request.model_dump(exclude_none=True)
    body: dict[str, Any] = {"model": request.model,
                            "messages": [{"role": "user", "content": prompt_text(request)}]}
    body.update({name: fields[name] for name in PASSED if name in fields})
    return body


def completion_id(chat_id: object) -> str:
    text = str(chat_id or "")
    return "cmpl-" + (text.split("-", 1)[1] if "-" in text else text or "costroute")


def from_chat(chat: dict[str, Any], model: str) -> dict[str, Any]:
    """A chat completion as a `text_completion` object."""
    choices = [{"text": (choice.get("message") or {}).get("content") or "",
                "index": choice.get("index", 0), "logprobs": None,
                "finish_reason": choice.get("finish_reason")}
               for choice in chat.get("choices") or []]
    return {"id": completion_id(chat.get("id")), "object": "text_completion",
            "created": chat.get("created") or int(time.time()),
            "model": chat.get("model") or model, "choices": choices,
            "usage": chat.get("usage")}


def chunk_from_chat(chunk: dict[str, Any], model: str,
                    include_usage: bool) -> dict[str, Any] | None:
    """One chat stream chunk as a text-completion chunk; None for one with nothing to say
    (the role-only opening delta, or usage the client did not ask for)."""
    base = {"id": completion_id(chunk.get("id")), "object": "text_completion",
            "created": chunk.get("created") or int(time.time()),
            "model": chunk.get("model") or model}
    choices = [{"text": (choice.get("delta") or {}).get("content") or "",
                "index": choice.get("index", 0), "logprobs": None,
                "finish_reason": choice.get("finish_reason")}
               for choice in chunk.get("choices") or []]
    choices = [c for c in choices if c["text"] or c["finish_reason"]]
    if choices:
        return {**base, "choices": choices}
    if chunk.get("usage") is not None and include_usage:
        out = {**base, "choices": [], "usage": chunk["usage"]}
        if chunk.get("x_costroute") is not None:
            out["x_costroute"] = chunk["x_costroute"]  # the settled cost, as on chat's
        return out
    return None
