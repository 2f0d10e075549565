"""Deterministic synthetic answers for prompts the simulator has no recording of.

The same (seed, model, prompt) always gives the same text, so tests and cached benchmarks
are reproducible; a different model or seed gives a different answer of a model-specific
length. The text is plain English prose about the prompt's own words, so token counts
behave like a real answer's.
"""

from __future__ import annotations

import hashlib
import random
import re

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOPWORDS = frozenset(
    ["about", "after", "again", "also", "because", "been", "before", "being", "could", "does", "each", "from", "have", "here", "into", "just", "like", "made", "make", "many", "more", "most", "much", "must", "only", "other", "over", "same", "should", "some", "such", "than", "that", "their", "them", "then", "there", "these", "they", "this", "those", "through", "very", "were", "what", "when", "where", "which", "while", "will", "with", "would", "your"]
)
_OPENERS = (
    "Here is a short answer.",
    "Let me work through this step by step.",
    "Good question.",
    "Based on the details given, here is what follows.",
    "There are a few things to consider.",
)
_SUBJECTS = ("the main point", "the first step", "a useful check", "the key detail",
             "the simplest reading", "one consequence", "the next step", "a fair estimate")
_VERBS = ("depends on", "follows from", "is tied to", "comes down to", "builds on",
          "is limited by", "is explained by", "can be checked against")
_OBJECTS = ("the numbers given", "the stated assumptions", "the context of the question",
            "what was asked", "the information above", "the constraints involved",
            "a careful reading", "the usual conventions")
_CLOSERS = ("In short, that is the answer.", "I hope this helps.",
            "Let me know if you want more detail.", "That covers the essentials.")


def synthetic_seed(seed: int, model: str, prompt: str) -> int:
    """A stable 64-bit seed for (seed, model, prompt); Python's `hash` is salted per run."""
    digest = hashlib.sha256(f"{seed}\x00{model}\x00{prompt}".encode("utf-8", "replace"))
    return int.from_bytes(digest.digest()[:8], "big")


def topic_words(prompt: str, limit: int = 6) -> list[str]:
    """Distinctive words of the prompt, in order of first appearance."""
    seen: list[str] = []
    for word in _WORD.findall(prompt):
        lowered = word.lower()
        if lowered not in _STOPWORDS and lowered not in seen:
            seen.append(lowered)
        if len(seen) == limit:
            break
    return seen or ["this question"]


def synthetic_answer(model: str, prompt: str, seed: int, words: tuple[int, int]) -> str:
    """A deterministic answer of `words[0]` to `words[1]` whitespace-separated words."""
    rng = random.Random(synthetic_seed(seed, model, prompt))
    target = rng.randint(words[0], words[1])
    topics = topic_words(prompt)
    sentences = [rng.choice(_OPENERS)]
    count = len(sentences[0].split())
    while count < target:
        sentence = _sentence(rng, topics)
        sentences.append(sentence)
        count += len(sentence.split())
    sentences.append(rng.choice(_CLOSERS))
    return _trim_words(" ".join(sentences), words[1])


def _sentence(rng: random.Random, topics: list[str]) -> str:
    topic = rng.choice(topics)
    subject = rng.choice(_SUBJECTS)
    clause = f"{subject} about {topic} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
    return clause[0].upper() + clause[1:] + "."


def _trim_words(text: str, limit: int) -> str:
    words = text.split()
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]).rstrip(".,") + "."
