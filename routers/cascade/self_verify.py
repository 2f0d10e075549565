"""AutoMix-style self-verification (arXiv 2310.12963): a cheap model asked whether an answer
is right, as one more priced stage.

When a route sets `self_verify_model`, an answer the scorer would accept at a non-final
stage is first shown to that model with the question; a "no" escalates as a low score
would. The verdict call is reserved, settled and billed like any stage (it appears among
the stages and in the cost), and a budget refusal or an upstream failure of the verdict
leaves the scorer's decision standing. It is a gate, not a learned feature: no recorded
data set here holds self-verification answers to fit or measure it on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.errors import BudgetExceeded, GatewayError
from routers.base import CallModel, StageResult
from routers.cascade.live import prompt_text

PROMPT = (
    "Here is a question and a proposed answer.\n\nQuestion:\n{question}\n\n"
    "Proposed answer:\n{answer}\n\n"
    "Is the proposed answer correct? Reply with one word: yes or no."
)
VERDICT_TOKENS = 3
_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def verdict(text: str) -> bool | None:
    """True for "yes", False for "no" (the first of them in the reply), else None."""
    match = _VERDICT.search(text)
    return None if match is None else match.group(1).lower() == "yes"


async def self_verify(
    call: CallModel, model: str, messages: Sequence[Mapping[str, Any]], answer: str
) -> tuple[bool | None, StageResult | None, str]:
    """(verdict, the paid verdict call, why) for `answer` to the chat `messages`."""
    ask = [{"role": "user",
            "content": PROMPT.format(question=prompt_text(messages), answer=answer)}]
    try:
        result = await call(model, ask, {"max_tokens": VERDICT_TOKENS})
    except BudgetExceeded:
        return None, None, "budget stops self-verification"
    except GatewayError as exc:
        return None, None, f"self-verification failed ({exc.code})"
    said = verdict(result.text)
    return said, result, f"self-verification by {model}: {result.text.strip()[:20]!r}"
