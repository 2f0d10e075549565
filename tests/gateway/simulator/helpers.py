"""Small helpers shared by the simulator tests."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from openai.types.chat import ChatCompletionMessageParam

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
GSM8K_DIR = SHARED_DATA / "routing" / "routellm" / "gsm8k"
GPT4 = "gpt-4-1106-preview"
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def chat_body(model: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": user(text), **extra}


def source_rows(gsm8k_dir: Path) -> dict[str, dict[str, str]]:
    """RouteLLM's CSV rows keyed by exact prompt, read independently of the simulator."""
    csv.field_size_limit(1 << 24)
    with (gsm8k_dir / "gsm8k_responses.csv").open(newline="", encoding="utf-8") as handle:
        return {row["prompt"]: row for row in csv.DictReader(handle)}
