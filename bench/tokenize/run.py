"""Token-counting throughput of costroute's counters, in MB of UTF-8 text per second per core.

    python bench/tokenize/run.py [--seconds 3] [--chunk 4000] [--tokenizers cl100k_base,o200k_base]

Text: the 36 languages of FLORES-200 devtest (../shared/data/flores200/devtest_full) cut into
prompt-sized chunks of --chunk characters, so scripts that BPE splits finely are included;
a synthetic multilingual text when that folder is missing. One process, one thread: the
figure is per core. Target (issue 3): >= 1 MB/s/core for tiktoken-backed models.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FLORES = REPO.parent / "shared" / "data" / "flores200" / "devtest_full"
TARGET_MB_S = 1.0


def _machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc={os.cpu_count()} ram={mem_gib:.1f}GiB cpu={cpu} python={platform.python_version()}"


def _corpus(chunk: int) -> tuple[list[str], str]:
    if FLORES.is_dir():
        text = "\n".join(p.read_text("utf-8") for p in sorted(FLORES.glob("*.devtest")))
        source = f"FLORES-200 devtest_full ({len(list(FLORES.glob('*.devtest')))} languages)"
    else:
        sample = ("The quick brown fox jumps over the lazy dog. Le renard brun saute. "
                  "नमस्ते दुनिया, यह एक परीक्षण है। 你好，世界。これはテストです。 ")
        text = sample * 20_000
        source = "synthetic multilingual text"
    return [text[i:i + chunk] for i in range(0, len(text), chunk)], source


def _throughput(count: object, chunks: list[str], seconds: float) -> tuple[float, int]:
    counter = count  # a bound `Tokenizer.count`
    assert callable(counter)
    nbytes = tokens = 0
    sizes = [len(c.encode("utf-8")) for c in chunks]
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for chunk, size in zip(chunks, sizes):
            tokens += counter(chunk)
            nbytes += size
            if time.perf_counter() - start >= seconds:
                break
    elapsed = time.perf_counter() - start
    return nbytes / elapsed / 1e6, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--chunk", type=int, default=4000, help="characters per counted text")
    parser.add_argument("--tokenizers", default="cl100k_base,o200k_base,mistral_spm,heuristic")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from pricing.tokenizers import TokenizerRegistry

    chunks, source = _corpus(args.chunk)
    print("command: python " + shlex.join(sys.argv))
    print(f"machine: {_machine()}")
    print(f"text: {source}, {sum(len(c.encode()) for c in chunks) / 1e6:.1f} MB "
          f"in {len(chunks)} chunks of {args.chunk} chars")
    registry = TokenizerRegistry()
    for name in args.tokenizers.split(","):
        tokenizer = registry.get(name)
        tokenizer.count("warm up")
        mb_s, tokens = _throughput(tokenizer.count, chunks, args.seconds)
        verdict = ""
        if name in ("cl100k_base", "o200k_base"):
            verdict = "  OK" if mb_s >= TARGET_MB_S else f"  BELOW TARGET {TARGET_MB_S} MB/s"
        print(f"{name:<14} {mb_s:8.2f} MB/s/core  ({tokens} tokens counted){verdict}")


if __name__ == "__main__":
    main()
