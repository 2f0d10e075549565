"""Build the router artifacts costroute ships, from the routing data it ships.

    .venv/bin/python scripts/build_default_artifacts.py
    .venv/bin/python scripts/build_default_artifacts.py --rebuild-subset \\
        ../shared/data/routing/routellm/mmlu    # also redraw the shipped MMLU subset

Writes (rerunnable; the same data and seed give the same splits and labels):

* routers/data/default_knn      the k-NN artifact `auto` and `router:knn` serve on the
                                embedded defaults (Mixtral-8x7B-Instruct, GPT-4-1106-preview):
                                two-stage (routers.knn.hybrid), the static encoder first and
                                MiniLM when its decision is unsure, so it needs the static
                                model (`python -m routers.static_distill`, scripts/setup.sh)
* routers/data/default_cascade  the cascade `router:cascade` serves (GSM8K answers)

Data: routers/data/training/routellm_mmlu_subset.jsonl.gz and the simulator's GSM8K
recordings, both RouteLLM (Apache-2.0; see the NOTICE files). A fifth of the prompts,
grouped by normalised text, is held out: the artifacts never see it, and their manifests
report AIQ, accuracy and cost on it beside the per-task lookup (fitted on the rest) and
the best single model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.artifact_metrics import held_out_metrics
from routers.datasets.format import RoutingDataset
from routers.datasets.shipped import (
    build_mmlu_subset,
    file_sha256,
    load_shipped,
    mmlu_subset_path,
)
from routers.datasets.split import split_rows
from routers.train_progress import RichTrainProgress
from routers.versions.registry import write_version_block

GSM8K = ROOT / "gateway/simulator/data/gsm8k_recordings.jsonl.gz"
KNN_OUT = ROOT / "routers/data/default_knn"
CASCADE_OUT = ROOT / "routers/data/default_cascade"
HELD_OUT_FRACTION = 0.2
SEED = 0
LICENCE = ("Apache-2.0 (RouteLLM, lm-sys/RouteLLM); questions: MMLU (MIT), GSM8K (MIT); "
           "see routers/data/training/NOTICE and gateway/simulator/data/NOTICE")
COMMAND = "python scripts/build_default_artifacts.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild-subset", type=Path, metavar="MMLU_DIR",
                        help="redraw the shipped MMLU subset from RouteLLM's mmlu folder")
    parser.add_argument("--skip-cascade", action="store_true")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--metrics-only", action="store_true",
                        help="keep the trained artifacts; recompute their manifests' metrics")
    args = parser.parse_args(argv)
    if args.rebuild_subset:
        n = build_mmlu_subset(args.rebuild_subset, mmlu_subset_path())
        print(f"wrote {n} MMLU rows to {mmlu_subset_path()}")
    ds = load_shipped(GSM8K)
    train_rows, held_rows = split_rows(ds.prompts, HELD_OUT_FRACTION, SEED)
    train, held_out = ds.subset(train_rows), ds.subset(held_rows)
    print(f"data: {len(ds)} prompts x {len(ds.models)} models ({', '.join(ds.models)}); "
          f"training on {len(train)}, holding out {len(held_out)}")
    data = {
        "dataset": "RouteLLM MMLU subset (57 domains x 40) + GSM8K recordings (200)",
        "licence": LICENCE,
        "files": file_sha256([mmlu_subset_path(), GSM8K]),
        "held_out": {"rule": f"routers.datasets.split.split_rows(fraction={HELD_OUT_FRACTION}, "
                             f"seed={SEED})", "n_prompts": len(held_out)},
    }
    if args.metrics_only:
        _publish(KNN_OUT, "knn", train, held_out, data, _hash(KNN_OUT))
        gsm_train, gsm_held, gsm_data = _gsm8k(train, held_out, data)
        _publish(CASCADE_OUT, "cascade", gsm_train, gsm_held, gsm_data, _hash(CASCADE_OUT))
        return 0
    build_knn(train, held_out, data, args.epochs)
    if not args.skip_cascade:
        build_cascade(train, held_out, data)
    return 0


def build_knn(train: RoutingDataset, held_out: RoutingDataset, data: dict[str, Any],
              epochs: int) -> None:
    from routers.cli_support import build_embedder
    from routers.knn.artifact import save_artifact
    from routers.knn.fit import FitConfig, fit_knn
    from routers.knn.train import TrainConfig

    progress = RichTrainProgress()
    try:
        # Two-stage: bench/knn/hybrid_vs_minilm.py and speed.py --hybrid made it the default
        # (within 0.005 TEST AIQ of MiniLM on every shared dataset, p50 decision < 1 ms).
        artifact = fit_knn(train, build_embedder("minilm", None),  # type: ignore[arg-type]
                           FitConfig(seed=SEED, train=TrainConfig(epochs=epochs, seed=SEED)),
                           progress, stage1=build_embedder("static", None))  # type: ignore[arg-type]
    finally:
        progress.close()
    _fresh(KNN_OUT)
    save_artifact(artifact, KNN_OUT, write_index=False)
    _publish(KNN_OUT, "knn", train, held_out, data, artifact.manifest["data_hash"])


def build_cascade(train: RoutingDataset, held_out: RoutingDataset, data: dict[str, Any]) -> None:
    from routers.cascade.artifact import save_artifact
    from routers.cascade.train import CascadeConfig, fit_cascade
    from routers.cli_support import build_embedder

    gsm_train, gsm_held, gsm_data = _gsm8k(train, held_out, data)
    print(f"cascade: training on {len(gsm_train)} GSM8K prompts with both models' answers")
    started = time.perf_counter()
    trained = fit_cascade(gsm_train, build_embedder("minilm", None),  # type: ignore[arg-type]
                          CascadeConfig(seed=SEED, choose_scorer=True, max_depth=2))
    print(f"cascade: trained in {time.perf_counter() - started:.1f} s: "
          f"{trained.artifact.strategy.describe()}")
    _fresh(CASCADE_OUT)
    save_artifact(trained.artifact, CASCADE_OUT)
    _publish(CASCADE_OUT, "cascade", gsm_train, gsm_held, gsm_data,
             str(trained.artifact.manifest.get("data_hash", "")))


def _publish(out: Path, kind: str, train: RoutingDataset, held_out: RoutingDataset,
             data: dict[str, Any], data_hash: str) -> None:
    print(f"{kind}: replaying {len(held_out)} held-out prompts beside the lookup and "
          "single models")
    metrics = held_out_metrics(out, held_out, train)
    labels = int((~_nan(train.scores)).sum())
    manifest = write_version_block(out, {
        "id": f"default-{kind}-{data_hash[:8]}",
        "kind": kind,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent": None,
        "command": COMMAND,
        "data": {**data, "source": "shipped", "data_hash": data_hash,
                 "n_prompts": len(train), "n_models": len(train.models),
                 "models": list(train.models), "n_labels": labels},
        "metrics": metrics,
    })
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"{kind}: {manifest['version']['id']} -> {out} ({size / 1e6:.2f} MB)")
    print(json.dumps(metrics, indent=2))


def _gsm8k(train: RoutingDataset, held_out: RoutingDataset, data: dict[str, Any]
           ) -> tuple[RoutingDataset, RoutingDataset, dict[str, Any]]:
    gsm_train, gsm_held = _task(train, "gsm8k"), _task(held_out, "gsm8k")
    gsm_data = {**data, "dataset": "GSM8K recordings (RouteLLM answers)",
                "held_out": {**data["held_out"], "n_prompts": len(gsm_held), "task": "gsm8k"}}
    return gsm_train, gsm_held, gsm_data


def _hash(out: Path) -> str:
    manifest = json.loads((out / "manifest.json").read_text())
    return str(manifest.get("data_hash") or manifest["version"]["data"]["data_hash"])


def _task(ds: RoutingDataset, task: str) -> RoutingDataset:
    return ds.subset([i for i, name in enumerate(ds.eval_names) if name == task])


def _nan(x: Any) -> Any:
    import numpy as np

    return np.isnan(x)


def _fresh(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)


if __name__ == "__main__":
    raise SystemExit(main())
