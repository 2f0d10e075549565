"""Cascade vs single models, FrugalGPT's solver, a per-task lookup and k-NN on RouteLLM GSM8K.

For each seed: split 70/30 by prompt; train scorer + strategies on train (out-of-fold
scores); replay on test. Headline: the cost at which the cascade matches the most accurate
single model's test accuracy, as % of that model's test cost, read two ways:

* curve: the cheapest strategy of the train Pareto set whose *test* accuracy reaches it
  (how FrugalGPT reads its published curves);
* chosen: the strategy chosen on *train* to match the best model's train accuracy,
  evaluated once on test (what a deployment would get).

The k-NN router alone and k-NN → cascade (its pick starts the cascade) are read the same
ways; `combined.py` then says whether the latter beats either alone.

Usage: .venv/bin/python bench/cascade/gsm8k.py [--seeds 3] [--no-knn] [--fast-scorer]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
from combined import compare as compare_combined
from common import PRICES_ROUTELLM, RESULTS, SHARED, cost_to_match, embedder, header, pct

from routers.cascade.combine import replay_started
from routers.cascade.fit_scorer import ScorerConfig, encode, score_rows
from routers.cascade.frugal import frugalgpt_solve
from routers.cascade.metrics import auroc, auroc_by_task
from routers.cascade.search import Outcomes, pareto_indices
from routers.cascade.strategy import Strategy, replay
from routers.cascade.train import CascadeConfig, fit_cascade
from routers.datasets import RoutingDataset, load_routellm_gsm8k, split

TEST_FRACTION = 0.3
BUDGET_POINTS = 16


def single_models(ds: RoutingDataset) -> tuple[int, float, float]:
    """(column, accuracy, mean cost) of the most accurate model (ties: the cheaper)."""
    acc, cost = ds.scores.mean(axis=0), ds.costs.mean(axis=0)
    best = int(np.lexsort((cost, -acc))[0])
    return best, float(acc[best]), float(cost[best])


def headline(
    train_points: list[tuple[float, float]],
    test_points: list[tuple[float, float]],
    train_target: float,
    test_target: float,
) -> dict[str, Any]:
    """Curve reading on test, and the train-chosen point's test (cost, accuracy)."""
    chosen = None
    reaching = [i for i, (c, a) in enumerate(train_points) if a >= train_target - 1e-12]
    if reaching:
        chosen = min(reaching, key=lambda i: train_points[i][0])
    return {
        "curve_cost": cost_to_match(test_points, test_target),
        "chosen": None
        if chosen is None
        else {"cost": test_points[chosen][0], "accuracy": test_points[chosen][1]},
    }


def per_task_lookup(train: RoutingDataset, test: RoutingDataset) -> tuple[float, float]:
    """Per task: the cheapest model within 0 of the task's best train accuracy; test replay."""
    picks = np.zeros(len(test), dtype=np.int64)
    for task in set(test.eval_names):
        rows = [i for i, t in enumerate(train.eval_names) if t == task]
        acc = train.scores[rows].mean(axis=0)
        cost = train.costs[rows].mean(axis=0)
        pick = int(np.lexsort((cost, -acc))[0])
        picks[[i for i, t in enumerate(test.eval_names) if t == task]] = pick
    r = np.arange(len(test))
    return float(test.scores[r, picks].mean()), float(test.costs[r, picks].mean())


def knn_curves(
    train: RoutingDataset, test: RoutingDataset, train_q: np.ndarray, test_q: np.ndarray, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """k-NN picks per max_utility knob on train (self excluded) and on test."""
    from routers.knn.evaluate import utility_knobs
    from routers.knn.fit import FitConfig, fit_from_vectors
    from routers.knn.predict import choose
    from routers.knn.replay import self_rows
    from routers.knn.router import KnnRouter

    artifact = fit_from_vectors(train, train_q, FitConfig(seed=seed), "all-MiniLM-L6-v2")
    router = KnnRouter(artifact, embedder=None)
    q_tr, c_tr = router.predict(train_q, exclude=self_rows(artifact, train.prompts))
    q_te, c_te = router.predict(test_q)
    knobs = utility_knobs(train.costs)
    train_picks = [choose(q_tr, c_tr, "max_utility", k) for k in knobs]
    test_picks = [choose(q_te, c_te, "max_utility", k) for k in knobs]
    return train_picks, test_picks


def picks_points(picks: list[np.ndarray], ds: RoutingDataset) -> list[tuple[float, float]]:
    r = np.arange(len(ds))
    return [(float(ds.costs[r, p].mean()), float(ds.scores[r, p].mean())) for p in picks]


def run_seed(ds: RoutingDataset, seed: int, with_knn: bool, embed_answer: bool) -> dict[str, Any]:
    emb = embedder()
    train, test = split(ds, TEST_FRACTION, seed)
    config = CascadeConfig(
        seed=seed, compare_frugalgpt=False, scorer=ScorerConfig(embed_answer=embed_answer)
    )
    trained = fit_cascade(train, emb, config)
    heads = trained.artifact.heads
    test_enc = encode(test, emb, embed_answer)
    test_scores = score_rows(test_enc, heads)
    out: dict[str, Any] = {"seed": seed, "train_rows": len(train), "test_rows": len(test)}
    out["auroc_test"] = {
        m: {
            "all": auroc(test_scores[:, j], test.scores[:, j]),
            "by_task": auroc_by_task(test_scores[:, j], test.scores[:, j], test.eval_names),
        }
        for j, m in enumerate(test.models)
        if m in heads
    }
    out["auroc_train_oof"] = {
        m: auroc(trained.oof_scores[:, j], train.scores[:, j])
        for j, m in enumerate(train.models)
        if m in heads
    }
    best, train_target, _ = single_models(train)
    test_acc, test_cost = test.scores[:, best].mean(), test.costs[:, best].mean()
    out["best_model"] = {
        "model": test.models[best],
        "test_accuracy": float(test_acc),
        "test_cost": float(test_cost),
    }
    out["singles_test"] = {
        m: (float(test.costs[:, j].mean()), float(test.scores[:, j].mean()))
        for j, m in enumerate(test.models)
    }

    def evaluate(strategies: list[Strategy]) -> list[tuple[float, float]]:
        pts = []
        for s in strategies:
            r = replay(s, test.models, test_scores, test.scores, test.costs)
            pts.append((r.cost_usd, r.accuracy))
        return pts

    pareto = trained.frontier.strategies
    ours_train = [(s.cost_usd, s.accuracy) for s in pareto]
    ours_test = evaluate(pareto)
    out["cascade"] = {
        "train": ours_train,
        "test": ours_test,
        **headline(ours_train, ours_test, train_target, float(test_acc)),
    }

    # FrugalGPT's solver on the same out-of-fold scores, at budgets over the cost range.
    o = Outcomes(list(train.models), trained.oof_scores, train.scores, train.costs)
    singles = train.costs.mean(axis=0)
    budgets = np.geomspace(singles.min(), singles.max(), BUDGET_POINTS)
    started = time.perf_counter()
    theirs = [frugalgpt_solve(o, float(b), depth=3) for b in budgets]
    frugal_s = time.perf_counter() - started
    kept = [(b, s) for b, s in zip(budgets, theirs) if s is not None]
    f_train = [(s.cost_usd, s.accuracy) for _, s in kept]
    f_test = evaluate([s for _, s in kept])
    ours_at = [trained.frontier.best_within(float(b)) for b, _ in kept]
    out["frugalgpt"] = {
        "train": f_train,
        "test": f_test,
        "solver_seconds": round(frugal_s, 2),
        "same_budget": [
            {
                "budget": float(b),
                "train_ours": o2.accuracy,
                "train_frugal": s.accuracy,
                "test_ours": evaluate([o2])[0][1],
                "test_frugal": evaluate([s])[0][1],
            }
            for (b, s), o2 in zip(kept, ours_at)
            if o2 is not None
        ],
        **headline(f_train, f_test, train_target, float(test_acc)),
    }
    acc, cost = per_task_lookup(train, test)
    out["per_task_lookup"] = {"test_accuracy": acc, "test_cost": cost}
    if with_knn:
        out.update(
            knn_results(
                train,
                test,
                trained,
                test_enc.query_vectors,
                test_scores,
                train_target,
                float(test_acc),
                seed,
            )
        )
    return out


def knn_results(
    train: RoutingDataset,
    test: RoutingDataset,
    trained: Any,
    test_q: np.ndarray,
    test_scores: np.ndarray,
    train_target: float,
    test_target: float,
    seed: int,
) -> dict[str, Any]:
    train_picks, test_picks = knn_curves(train, test, trained.encoded.query_vectors, test_q, seed)
    knn_train, knn_test = picks_points(train_picks, train), picks_points(test_picks, test)
    model_cost = {m: float(train.costs[:, j].mean()) for j, m in enumerate(train.models)}
    combos, combo_train = [], []
    for k, picks in enumerate(train_picks):
        for s in trained.frontier.strategies:
            a, c = replay_started(
                s, train.models, picks, trained.oof_scores, train.scores, train.costs, model_cost
            )
            combos.append((k, s))
            combo_train.append((c, a))
    keep = pareto_indices(
        np.array([a for _, a in combo_train]), np.array([c for c, _ in combo_train])
    )
    both_train = [combo_train[i] for i in keep]
    both_test = []
    for i in keep:
        k, s = combos[i]
        a, c = replay_started(
            s, test.models, test_picks[k], test_scores, test.scores, test.costs, model_cost
        )
        both_test.append((c, a))
    return {
        "knn": {
            "train": knn_train,
            "test": knn_test,
            **headline(knn_train, knn_test, train_target, test_target),
        },
        "knn_then_cascade": {
            "train": both_train,
            "test": both_test,
            **headline(both_train, both_test, train_target, test_target),
        },
    }


def report(results: list[dict[str, Any]]) -> None:
    methods = ["cascade", "frugalgpt", "knn", "knn_then_cascade"]
    print("\ncost to match the best single model's test accuracy, % of its test cost")
    print(
        f"{'seed':>4} {'best model acc':>15} "
        + " ".join(f"{m + ' curve/chosen':>34}" for m in methods)
    )
    for r in results:
        base = r["best_model"]["test_cost"]
        cells = []
        for m in methods:
            if m not in r:
                cells.append(f"{'-':>34}")
                continue
            chosen = r[m]["chosen"]
            shown = (
                "none"
                if chosen is None
                else (f"{pct(chosen['cost'], base)} @ {chosen['accuracy']:.3f}")
            )
            cells.append(f"{pct(r[m]['curve_cost'], base) + ' / ' + shown:>34}")
        print(f"{r['seed']:>4} {r['best_model']['test_accuracy']:>15.4f} " + " ".join(cells))
    for m in methods:
        vals = [
            r[m]["curve_cost"] / r["best_model"]["test_cost"]
            for r in results
            if m in r and r[m]["curve_cost"] is not None
        ]
        if vals:
            print(
                f"  mean curve reading {m}: {100 * np.mean(vals):.1f}% "
                f"(savings {100 - 100 * np.mean(vals):.1f}%) over {len(vals)} seeds"
            )
    print("\nscorer AUROC on test (overall; within task gsm8k):")
    for r in results:
        cells = [f"{m.split('/')[-1]} {v['all']:.3f}" for m, v in r["auroc_test"].items()]
        oof = [f"{m.split('/')[-1]} {v:.3f}" for m, v in r["auroc_train_oof"].items()]
        print(
            f"  seed {r['seed']}: test "
            + ", ".join(cells)
            + " | train out-of-fold "
            + ", ".join(oof)
        )
    print(
        "\nsame budget, ours vs FrugalGPT solver (accuracy on train = what each optimises; test):"
    )
    for r in results:
        rows = r["frugalgpt"]["same_budget"]
        wins = sum(x["train_ours"] > x["train_frugal"] + 1e-12 for x in rows)
        ties = sum(abs(x["train_ours"] - x["train_frugal"]) <= 1e-12 for x in rows)
        d_test = np.mean([x["test_ours"] - x["test_frugal"] for x in rows])
        print(
            f"  seed {r['seed']}: {len(rows)} budgets, train: ours better {wins}, equal {ties}, "
            f"worse {len(rows) - wins - ties}; mean test accuracy difference {d_test:+.4f}; "
            f"FrugalGPT solver {r['frugalgpt']['solver_seconds']} s"
        )
    print("\nper-task lookup (single task here, so it is the best single model):")
    for r in results:
        base = r["best_model"]["test_cost"]
        p = r["per_task_lookup"]
        print(
            f"  seed {r['seed']}: test accuracy {p['test_accuracy']:.4f} at {pct(p['test_cost'], base)}"
        )
    compare_combined(results)


def plot(result: dict[str, Any], suffix: str = "") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, style in [
        ("cascade", "-o"),
        ("frugalgpt", "--s"),
        ("knn", ":^"),
        ("knn_then_cascade", "-.d"),
    ]:
        if key in result:
            pts = sorted(result[key]["test"])
            ax.plot([c * 1000 for c, _ in pts], [a for _, a in pts], style, ms=3, label=key)
    for model, (c, a) in result["singles_test"].items():
        ax.plot([c * 1000], [a], "k*", ms=10)
        ax.annotate(model.split("/")[-1], (c * 1000, a), fontsize=7)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("mean cost per query, USD per 1k queries (test)")
    ax.set_ylabel("accuracy (test)")
    ax.set_title(f"RouteLLM GSM8K, seed {result['seed']}")
    ax.legend(fontsize=8)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"gsm8k_seed{result['seed']}{suffix}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return str(path)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-knn", action="store_true")
    parser.add_argument(
        "--fast-scorer",
        action="store_true",
        help="query embedding + hand features only (no answer embedding)",
    )
    args = parser.parse_args(argv)
    header("gsm8k.py", argv)
    print(f"prices: {PRICES_ROUTELLM}")
    ds = load_routellm_gsm8k(SHARED / "routing" / "routellm" / "gsm8k")
    print(
        f"data: RouteLLM GSM8K, {len(ds)} prompts (contaminated dropped), "
        f"test fraction {TEST_FRACTION}"
    )
    results = []
    for seed in range(args.seeds):
        started = time.perf_counter()
        results.append(run_seed(ds, seed, not args.no_knn, not args.fast_scorer))
        print(f"seed {seed}: {time.perf_counter() - started:.1f} s", flush=True)
    report(results)
    suffix = "_fast" if args.fast_scorer else ""
    print(f"\nplot: {plot(results[0], suffix)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"gsm8k{suffix}.json").write_text(json.dumps(results, indent=1))
    print(f"json: {RESULTS / f'gsm8k{suffix}.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
