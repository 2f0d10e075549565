"""Fit a distilled static table to MiniLM's sentence vectors over a corpus (tokenlearn-style).

model2vec's distillation embeds each vocabulary token alone, so a prompt's mean of token rows
only approximates what MiniLM says about the whole prompt. Tokenlearn (Tulkens & van Dongen,
2025) closes part of that gap by training the token rows so that the static mean of each
corpus sentence points where MiniLM's sentence vector does. This module does that with
plain torch (no tokenlearn dependency): rows start at the distilled table, the loss is the
cosine distance between the static vector and MiniLM's, and decoupled weight decay pulls
every row back toward its distilled value, so tokens that the corpus barely uses keep their
distilled meaning.

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

    `targets` must have the table's width (MiniLM's 384: distil without PCA). Texts without
    a known token are skipped. Returns a new float32 table; `table` is not modified.
    """
    import torch

    if targets.shape[1] != table.shape[1]:
        raise ValueError(f"targets are {targets.shape[1]}-d, the table {table.shape[1]}-d")
    keep = [i for i, row in enumerate(ids) if row.size]
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    # Only the rows the corpus uses can move: fit those (remapped to 0..n-1), write them back.
    used, inverse = np.unique(np.concatenate([ids[i] for i in keep] or [np.zeros(0, np.int64)]),
                              return_inverse=True)
    base = torch.from_numpy(np.ascontiguousarray(table[used], dtype=np.float32))
    # Each fitted row is base + delta; weight decay on delta alone pulls it toward `base`.
    delta = torch.nn.Parameter(torch.zeros_like(base))
    optimiser = torch.optim.AdamW([delta], lr=config.lr, weight_decay=config.decay)
    goal = torch.from_numpy(np.ascontiguousarray(targets[keep], dtype=np.float32))
    bounds = np.cumsum([0] + [ids[i].size for i in keep])
    flat = [torch.from_numpy(inverse[a:b].astype(np.int64)) for a, b in itertools.pairwise(bounds)]
    rng = np.random.default_rng(config.seed)
    for epoch in range(config.epochs):
        order = rng.permutation(len(keep))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            batch = [flat[r] for r in rows]
            offsets = torch.tensor([0] + [len(b) for b in batch[:-1]]).cumsum(0)
            vectors = torch.nn.functional.embedding_bag(
                torch.cat(batch), base + delta, offsets, mode="sum"
            )
            cosine = torch.nn.functional.cosine_similarity(vectors, goal[rows], dim=1)
            loss = (1.0 - cosine).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        if progress is not None:
            progress(epoch + 1, config.epochs, total / max(len(keep), 1))
    out = np.array(table, dtype=np.float32)
    out[used] = (base + delta.detach()).numpy()
    return out


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
