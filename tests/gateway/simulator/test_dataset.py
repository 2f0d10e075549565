"""The shipped recordings: reproducible from RouteLLM's CSV, and shipped with their licence."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from gateway.simulator.dataset_builder import build
from gateway.simulator.recordings import RecordingBook, normalise_prompt
from tests.gateway.simulator.helpers import GPT4, MIXTRAL, source_rows

DATA = resources.files("gateway.simulator").joinpath("data")


def test_shipped_file_is_rebuilt_byte_for_byte(gsm8k_dir: Path, tmp_path: Path) -> None:
    rebuilt = tmp_path / "rebuilt.jsonl.gz"
    assert build(gsm8k_dir, rebuilt) == 200
    assert rebuilt.read_bytes() == DATA.joinpath("gsm8k_recordings.jsonl.gz").read_bytes()


def test_recordings_match_the_source_and_skip_contaminated_prompts(gsm8k_dir: Path) -> None:
    rows = source_rows(gsm8k_dir)
    lines = (gsm8k_dir / "contaminated_prompts.jsonl").read_text("utf-8").splitlines()
    contaminated = {normalise_prompt(json.loads(line)["eval_prompt"]) for line in lines if line}
    assert contaminated
    book = RecordingBook.shipped()
    assert len(book) == 200
    assert len({normalise_prompt(r.prompt) for r in book}) == 200
    for recording in book:
        row = rows[recording.prompt]
        assert recording.answers == {m: row[f"{m}_response"].strip() for m in (GPT4, MIXTRAL)}
        assert recording.correct == {m: row[m] == "True" for m in (GPT4, MIXTRAL)}
        assert normalise_prompt(recording.prompt) not in contaminated


def test_notice_names_the_source_and_licence() -> None:
    notice = DATA.joinpath("NOTICE").read_text("utf-8")
    for needed in ("RouteLLM", "lm-sys/RouteLLM", "Apache License, Version 2.0", "GSM8K",
                   "MIT License", "gsm8k_responses.csv"):
        assert needed in notice
    licence = DATA.joinpath("LICENSE-Apache-2.0.txt").read_text("utf-8")
    assert "Apache License" in licence and "END OF TERMS AND CONDITIONS" in licence
