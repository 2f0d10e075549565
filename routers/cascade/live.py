"""Post-generation signals for one live request, computed as training computed them.

Serving scores one answer (or one parallel stage's answers) at a time. Rather than a second
implementation of the features, `LiveSignals` fills one row of the same `Signals` arrays the
trainer filled for its whole data set (base scores, agreement, verifier and logprob
features, in the artifact's model order) and asks the stacked heads for that row, so an
artifact trained with a signal is served with exactly that signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.cascade.agreement import agreement, normalised
from routers.cascade.signal_heads import SignalHeads
from routers.cascade.signals import Signals
from routers.cascade.strategy import parallel_name
from routers.cascade.verifier import (
    VERIFIER_FEATURES,
    CodeRunner,
    Sandbox,
    SandboxPool,
    extract_code,
    verifier_features,
)

Vectors = npt.NDArray[np.float32]
EmbedAnswers = Callable[[list[str]], Vectors]


@dataclass(frozen=True)
class Answered:
    """One answer as the signals see it: who gave it, its base score and its evidence."""

    model: str
    text: str
    base: float
    verifier: tuple[float, ...] | None = None
    logprobs: tuple[float, float] | None = None  # mean, min token logprob


def answer_logprobs(response: Mapping[str, Any]) -> tuple[float, float] | None:
    """(mean, min) token logprob of an OpenAI-shaped response's answer; None without them."""
    choices = response.get("choices") or [{}]
    block = (choices[0] or {}).get("logprobs") or {}
    content = block.get("content") if isinstance(block, Mapping) else None
    values = [
        float(t["logprob"])
        for t in content or []
        if isinstance(t, Mapping) and isinstance(t.get("logprob"), int | float)
        and math.isfinite(float(t["logprob"]))
    ]
    if not values:
        return None
    return float(np.mean(values)), float(np.min(values))


def prompt_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The users' text of a chat: where a prompt states its tests (MBPP's asserts)."""
    parts = []
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [str(p.get("text", "")) for p in content if isinstance(p, Mapping)]
    return "\n".join(parts)


def live_verifier_features(answer: str, prompt: str,
                           sandboxes: CodeRunner | None = None) -> tuple[float, ...]:
    """The verifier's features of one answer; only code needs a sandbox: one of `sandboxes`
    (warm workers), or without them one started for this answer alone."""
    if extract_code(answer) is None:
        # verifier_features answers a code-less answer without touching the sandbox.
        return tuple(verifier_features(None, answer, prompt))
    if sandboxes is not None:
        return tuple(verifier_features(sandboxes, answer, prompt))
    with Sandbox() as sandbox:
        return tuple(verifier_features(sandbox, answer, prompt))


class LiveSignals:
    """Stacked-head scores of live answers; `embed` is needed for embedding agreement."""

    def __init__(self, heads: SignalHeads, embed: EmbedAnswers | None = None):
        self.heads = heads
        self.config = heads.config
        self.stacked = heads.stacked()
        self.index = {m: j for j, m in enumerate(self.config.models)}
        self.embed = embed
        # Workers start on the first code answer; they exit when the pool is collected
        # (their stdin closes), as when a promoted artifact replaces this one.
        self.sandboxes = SandboxPool()

    def is_parallel(self, stage_model: str) -> bool:
        return any(parallel_name(p) == stage_model for p in self.heads.pairs)

    def can_score(self, model: str) -> bool:
        return model in self.heads.single

    def _row(self, answers: Sequence[Answered]) -> Signals:
        m = len(self.config.models)
        base = np.full((1, m), np.nan)
        agree = np.ones((1, m, m))
        verifier = np.zeros((1, m, len(VERIFIER_FEATURES)))
        logprobs = np.full((1, m, 2), np.nan)
        for a in answers:
            j = self.index[a.model]
            base[0, j] = a.base
            if a.verifier is not None:
                verifier[0, j] = a.verifier
            if a.logprobs is not None:
                logprobs[0, j] = a.logprobs
        for x in range(len(answers)):
            for y in range(x + 1, len(answers)):
                j, k = self.index[answers[x].model], self.index[answers[y].model]
                value = self.agreement(answers[x].text, answers[y].text)
                agree[0, j, k] = agree[0, k, j] = value
        return Signals(base, agree, verifier, self.config.agreement, self.config.verifier,
                       logprobs, self.config.logprobs)

    def agreement(self, first: str, second: str) -> float:
        """Exact for choices and numbers; for free text as the artifact was trained."""
        vectors: tuple[Vectors, Vectors] | None = None
        free = normalised(first) is None or normalised(second) is None
        if free and self.config.agreement_text == "embedding" and self.embed is not None:
            both = self.embed([first, second])
            vectors = (both[:1], both[1:])
        if vectors is None:
            return float(agreement([first], [second])[0])
        return float(agreement([first], [second], vectors[0], vectors[1])[0])

    def score(self, answer: Answered, previous: Answered | None) -> float:
        """P(correct) of `answer`, after `previous` (the last stage's returned answer)."""
        head = self.stacked.single[self.index[answer.model]]
        if previous is not None and previous.model in self.index and self.config.agreement \
                and previous.model != answer.model:
            signals = self._row([answer, previous])
            x = signals.single(self.index[answer.model], self.index[previous.model])
        else:
            x = self._row([answer]).single(self.index[answer.model], None)
        return float(head.predict(x)[0])

    def score_pair(self, first: Answered, second: Answered) -> tuple[float, Answered]:
        """A parallel stage's score and the answer it returns (the higher base score)."""
        return self.score_group([first, second])

    def score_group(self, answers: Sequence[Answered]) -> tuple[float, Answered]:
        """A parallel or vote stage's score and the answer it returns (`Signals.group`)."""
        members = tuple(self.index[a.model] for a in answers)
        head = self.stacked.pairs[members]
        x, returned = self._row(answers).group(members)
        chosen = next(a for a, j in zip(answers, members, strict=True) if j == int(returned[0]))
        return float(head.predict(x)[0]), chosen
