"""Fit a distilled static table to MiniLM's sentence vectors over a corpus (tokenlearn-style).

model2vec's distillation embeds each vocabulary token alone, so a prompt's mean of token rows
only approximates what MiniLM says about the whole prompt. Tokenlearn (Tulkens & van Dongen,
2025) closes part of that gap by training the token rows so that the static mean of each
corpus sentence points where MiniLM's sentence vector does. This module does that with
plain torch (no tokenlearn dependency): rows start at the distilled table, the loss is the
cosine distance between the static vector (through a learnt linear map, folded into the
table at the end) and MiniLM's, and decoupled weight decay pulls every row back toward its
distilled value, so tokens that the corpus barely uses keep their distilled meaning.

    python -m routers.static_tune --base DIR --corpus FILE.npz --out DIR [--epochs 4]

The corpus file holds `texts` (the embedding texts) and `vectors` (MiniLM's unit rows for
them); bench/knn/static_tune.py builds it from the routing datasets' TRAIN prompts only.
Offline work, like routers.static_distill: serving never imports torch.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.static_embedding import MAX_CHARS, MAX_TOKENS

Table = npt.NDArray[np.float32]
Progress = Callable[[int, int, float], None]  # (epoch, epochs, mean training loss)


@dataclass(frozen=True)
class TuneConfig:
    epochs: int = 4
    lr: float = 0.01
    # Decoupled decay of (row - distilled row) per step: the pull back toward distillation.
    decay: float = 0.01
    batch_size: int = 128
    seed: int = 0
    # Gathers and small matmuls: one thread is as fast and does not spin on a busy machine.
    threads: int = 1


def token_ids(tokenizer: Any, texts: Sequence[str]) -> list[npt.NDArray[np.int64]]:
    """Each text's ids as StaticEmbedder sees them: cut, no special tokens, no [UNK]."""
    unk = tokenizer.token_to_id("[UNK]")
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    out = []
    for encoding in tokenizer.encode_batch([t[:MAX_CHARS] for t in texts], add_special_tokens=False):
        ids = np.asarray(encoding.ids, dtype=np.int64)
        out.append(ids[ids != unk] if unk is not None else ids)
    return out


def tune_table(
    table: Table,
    ids: Sequence[npt.NDArray[np.int64]],
    targets: npt.NDArray[np.float32],
    config: TuneConfig = TuneConfig(),
    progress: Progress | None = None,
) -> Table:
    """The table after fitting mean-of-rows to `targets` (unit rows, one per id list).

    `targets` must have the table's width (MiniLM's 384: distil with 384 PCA dims). Texts
    without a known token are skipped. `epochs=0` fits the least-squares linear map alone
    (no row moves on its own): on VALIDATION the best of the settings tried
    (bench/results/knn/static_tune_validation.txt). Returns a new float32 table; `table` is
    not modified.
    """
    import torch

    if targets.shape[1] != table.shape[1]:
        raise ValueError(f"targets are {targets.shape[1]}-d, the table {table.shape[1]}-d")
    keep = [i for i, row in enumerate(ids) if row.size]
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    # Only the rows the corpus uses get a delta (remapped to 0..n-1).
    used, inverse = np.unique(np.concatenate([ids[i] for i in keep] or [np.zeros(0, np.int64)]),
                              return_inverse=True)
    full = torch.from_numpy(np.ascontiguousarray(table, dtype=np.float32))
    base = full[torch.from_numpy(used)]
    # Each fitted row is base + delta; weight decay on delta alone pulls it toward `base`.
    delta = torch.nn.Parameter(torch.zeros_like(base))
    goal = torch.from_numpy(np.ascontiguousarray(targets[keep], dtype=np.float32))
    bounds = np.cumsum([0] + [ids[i].size for i in keep])
    flat = [torch.from_numpy(inverse[a:b].astype(np.int64)) for a, b in itertools.pairwise(bounds)]
    # model2vec's PCA rotates the table's basis away from MiniLM's, so the static vectors
    # meet the targets through a linear map, started at least squares and folded into every
    # row at the end (mean pooling is linear: mean(rows) @ map = mean(rows @ map)).
    pooled = _pool(base, flat)
    start = torch.linalg.lstsq(pooled, goal).solution
    head = torch.nn.Parameter(start.clone())
    optimiser = torch.optim.AdamW([
        {"params": [delta], "weight_decay": config.decay},
        {"params": [head], "weight_decay": 0.0},
    ], lr=config.lr)
    rng = np.random.default_rng(config.seed)
    for epoch in range(config.epochs):
        order = rng.permutation(len(keep))
        total = 0.0
        for begin in range(0, len(order), config.batch_size):
            rows = order[begin : begin + config.batch_size]
            vectors = _pool(base + delta, [flat[r] for r in rows]) @ head
            cosine = torch.nn.functional.cosine_similarity(vectors, goal[rows], dim=1)
            loss = (1.0 - cosine).mean()
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        if progress is not None:
            progress(epoch + 1, config.epochs, total / max(len(keep), 1))
    with torch.no_grad():
        full = full.clone()
        full[torch.from_numpy(used)] = base + delta
        return (full @ head).numpy().astype(np.float32)


def _pool(rows: Any, texts: list[Any]) -> Any:
    """Unit-length sums of each text's rows (torch)."""
    import torch

    offsets = torch.tensor([0] + [len(t) for t in texts[:-1]]).cumsum(0)
    sums = torch.nn.functional.embedding_bag(torch.cat(texts), rows, offsets, mode="sum")
    return torch.nn.functional.normalize(sums, dim=1)


def write_tuned(base_dir: Path, table: Table, out: Path, config: TuneConfig, n_texts: int) -> Path:
    """`base_dir`'s model2vec folder with `table` (float16) in place of its embeddings."""
    from safetensors.numpy import save_file

    tmp = out.with_name(f"{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base_dir, tmp)
    save_file({"embeddings": table.astype(np.float16)}, str(tmp / "model.safetensors"))
    meta = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
    meta["hidden_dim"] = int(table.shape[1])
    meta["costroute_tuned"] = {**asdict(config), "texts": n_texts}
    (tmp / "config.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return out


def load_table(model_dir: Path) -> Table:
    from safetensors.numpy import load_file

    return load_file(str(model_dir / "model.safetensors"))["embeddings"].astype(np.float32)


def tune_model(
    base_dir: Path, texts: Sequence[str], targets: npt.NDArray[np.float32], out: Path,
    config: TuneConfig = TuneConfig(), progress: Progress | None = None,
) -> Path:
    """Tune `base_dir`'s table on (texts, MiniLM targets) and write the result to `out`."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
    table = tune_table(load_table(base_dir), token_ids(tokenizer, texts), targets, config, progress)
    return write_tuned(base_dir, table, out, config, len(texts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="a distilled 384-d folder")
    parser.add_argument("--corpus", type=Path, required=True, help="npz: texts, vectors")
    parser.add_argument("--out", type=Path, required=True)
    defaults = TuneConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--decay", type=float, default=defaults.decay)
    args = parser.parse_args(argv)
    corpus = np.load(args.corpus, allow_pickle=False)
    config = TuneConfig(epochs=args.epochs, lr=args.lr, decay=args.decay)

    def show(epoch: int, epochs: int, loss: float) -> None:
        print(f"  epoch {epoch}/{epochs}: mean cosine distance {loss:.4f}", flush=True)

    tune_model(args.base, list(corpus["texts"]), corpus["vectors"], args.out, config, show)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
