"""Latency of the cheapest real model call we have: SmolLM2-135M via llama.cpp, short prompt.

A cascade stage is buffered until its answer is complete, so the whole call (not just the
first token) is what scoring adds to; both are reported. The server is llama.cpp's
OpenAI-compatible one on loopback (`gateway.localmodel`), asked directly, not through the
gateway, so the figure is the model call alone.

Usage: .venv/bin/python bench/cascade/local_call.py [--n 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
from common import header

from gateway.localmodel import MODEL_ALIAS, LocalModelUnavailable, serve_local_model

PROMPT = "Say hello in one word."
MAX_TOKENS = 16
WARMUP_CALLS = 3


@dataclass(frozen=True)
class LocalCallTimes:
    """Milliseconds per call (median, p99), time to the first streamed token, tokens out."""

    median_ms: float
    p99_ms: float
    first_token_median_ms: float
    prompt_tokens: int
    completion_tokens: int
    threads: int
    calls: int

    def describe(self) -> str:
        return (
            f"SmolLM2-135M-Instruct (llama.cpp, {self.threads} threads, loopback), "
            f"{PROMPT!r} ({self.prompt_tokens} prompt tokens → {self.completion_tokens} "
            f"completion tokens, temperature 0), {self.calls} calls: whole call median "
            f"{self.median_ms:.1f} ms, p99 {self.p99_ms:.1f} ms; first streamed token median "
            f"{self.first_token_median_ms:.1f} ms"
        )


def time_local_calls(n: int = 30, threads: int = 2) -> LocalCallTimes:
    """Times `n` short chat calls to SmolLM2; raises `LocalModelUnavailable` without it."""
    import openai
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
    with serve_local_model(n_threads=threads) as base_url:
        client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)

        def call() -> ChatCompletion:
            return client.chat.completions.create(
                model=MODEL_ALIAS,
                messages=messages,
                max_tokens=MAX_TOKENS,
                temperature=0,
            )

        for _ in range(WARMUP_CALLS):
            call()
        whole, first = [], []
        usage = None
        for _ in range(n):
            started = time.perf_counter()
            usage = call().usage
            whole.append((time.perf_counter() - started) * 1000)
        for _ in range(n):
            started = time.perf_counter()
            stream = client.chat.completions.create(
                model=MODEL_ALIAS,
                messages=messages,
                max_tokens=MAX_TOKENS,
                temperature=0,
                stream=True,
            )
            seen = False
            for chunk in stream:  # read to the end: the next call must not queue behind it
                if not seen and chunk.choices and chunk.choices[0].delta.content:
                    first.append((time.perf_counter() - started) * 1000)
                    seen = True
    return LocalCallTimes(
        float(np.median(whole)),
        float(np.percentile(whole, 99)),
        float(np.median(first)) if first else float("nan"),
        usage.prompt_tokens if usage else 0,
        usage.completion_tokens if usage else 0,
        threads,
        n,
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    args = parser.parse_args(argv)
    header("local_call.py", argv)
    try:
        print(time_local_calls(args.n, args.threads).describe())
    except LocalModelUnavailable as exc:
        print(f"local model unavailable: {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main(sys.argv[1:])
