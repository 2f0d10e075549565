"""How fast MiniLM could possibly run on this CPU: its FLOPs against measured matmul speed.

The k-NN issue aims at a 5 ms decision on a new ~50-token prompt and 300 prompts/s batch
embedding on 2 cores. Both are bounded below by the arithmetic of all-MiniLM-L6-v2 itself:
this script counts the multiply-adds of one forward pass (from the packaged config), measures
the float32 matmul rate this machine reaches (large square products, all cores: the best
case; and the shapes MiniLM actually multiplies), and prints the time the forward pass cannot
beat, next to what ONNX Runtime takes.

Run: .venv/bin/python bench/knn/roofline.py
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

import numpy as np
from common import header

from routers.embedding import MINILM_MAX_TOKENS, OnnxMiniLMEmbedder, minilm_path

TOKENS = 52  # a ~50-token prompt plus [CLS] and [SEP]
BATCH = 32


def forward_flops(config: dict[str, int], tokens: int, batch: int = 1) -> float:
    """Floating-point operations (2 per multiply-add) of one BERT encoder forward pass."""
    h, ff, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    dense = 2 * tokens * (4 * h * h + 2 * h * ff)  # Q, K, V, output; two feed-forward layers
    attention = 2 * 2 * tokens * tokens * h  # scores QK^T and the weighted sum of V
    return float(batch * layers * (dense + attention))


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(m: int, k: int, n: int, repeats: int = 20) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return 2 * m * k * n / best_seconds(lambda: a @ b, repeats) / 1e9


def main() -> None:
    header("roofline.py", [])
    config = json.loads((minilm_path() / "config.json").read_text())
    one = forward_flops(config, TOKENS)
    batch = forward_flops(config, TOKENS, BATCH)
    peak = max(matmul_gflops(2048, 2048, 2048, 5) for _ in range(3))
    shaped = {
        "QKV/out (52x384 @ 384x384)": matmul_gflops(TOKENS, 384, 384, 200),
        "FFN up (52x384 @ 384x1536)": matmul_gflops(TOKENS, 384, 1536, 200),
        "batch FFN up (1664x384 @ 384x1536)": matmul_gflops(TOKENS * BATCH, 384, 1536, 30),
    }
    print(f"all-MiniLM-L6-v2: {config['num_hidden_layers']} layers, hidden "
          f"{config['hidden_size']}, feed-forward {config['intermediate_size']}; max "
          f"{MINILM_MAX_TOKENS} tokens")
    print(f"one forward pass at {TOKENS} tokens: {one / 1e9:.3f} GFLOP")
    print(f"float32 matmul on this machine (numpy/BLAS, all cores): 2048^3 best {peak:.1f} GFLOP/s")
    for name, rate in shaped.items():
        print(f"  {name}: {rate:.1f} GFLOP/s")
    print(f"floor for one {TOKENS}-token embedding at the 2048^3 rate: {1e3 * one / (peak * 1e9):.2f} ms"
          f" (aim: 5 ms for the whole decision)")
    print(f"ceiling for batch embedding at that rate: {peak * 1e9 / (batch / BATCH):.0f} prompts/s"
          f" (aim: 300)")
    embedder = OnnxMiniLMEmbedder()
    text = " ".join(["routing"] * (TOKENS - 2))
    single = best_seconds(lambda: embedder.embed([text]), 40)
    many = best_seconds(lambda: embedder.embed([text] * BATCH), 5)
    print(f"ONNX Runtime, best of runs: one prompt {1e3 * single:.2f} ms "
          f"({one / single / 1e9:.1f} GFLOP/s); batch of {BATCH}: {BATCH / many:.0f} prompts/s "
          f"({batch / many / 1e9:.1f} GFLOP/s)")
    print(f"median of 5 more single runs: "
          f"{1e3 * statistics.median(best_seconds(lambda: embedder.embed([text]), 1) for _ in range(5)):.2f} ms")


if __name__ == "__main__":
    main()
