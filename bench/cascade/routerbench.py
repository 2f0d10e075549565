"""RouterBench (ARC-Challenge, MBPP, Winogrande; 11 models, recorded answers and per-prompt
costs): cascades with and without agreement and verifier signals, per-model heads, k-NN,
every single model, random mixtures and the per-task lookup, on a validation split carved
from the shared TRAIN files (70/30 by prompt, seed 0); never the held-out test split.

Reported: accuracy and mean recorded cost per prompt, AIQ, the paired-bootstrap AIQ gain
over the per-task lookup (1,000 resamples, 95%), the cheapest point reaching the best
single model's validation accuracy as a share of its cost, and the scorers' within-task
AUROC (mean over the three tasks) with and without each signal.

The "+vote" variant adds to the agreement variant's pairs the vote stages "a&b&c" (three
or more cheap models called at once; the majority answer, accepted on the vote's stacked
head) among the `--vote-models` cheapest models (issue #16; `agreement_signal.py`
measures the signal itself).

Usage: .venv/bin/python bench/cascade/routerbench.py [--val-fraction 0.3] [--seed 0]
       [--data ../shared/data/routing/routerbench] [--variants cascade,cascade+agreement]
       [--vote-models 5 --vote-sizes 3] [--out routerbench_vote]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import combinations
from typing import Any

import numpy as np
from common import CACHE, RESULTS, SHARED, embedder, header
from extended import ComposedCandidate, StrategiesCandidate, extended
from heads import HeadsCandidate, fit_prompt_heads, knn_candidate, knn_out_of_fold

from eval.baselines import default_lambdas
from eval.config import EvalConfig
from eval.replay import replay, standard_candidates
from eval.scoring import evaluate
from routers.cascade.agreement import agreement_tensor
from routers.cascade.composed import composed_front
from routers.cascade.fit_scorer import ScorerConfig, encode, score_rows
from routers.cascade.metrics import auroc_by_task
from routers.cascade.search import pareto_frontier
from routers.cascade.signals import Signals, apply_stacked, fit_stacked, out_of_fold_stacked
from routers.cascade.train import CascadeConfig, fit_cascade, usable_rows
from routers.cascade.verifier import VERIFIER_FEATURES, Sandbox, verifier_matrix
from routers.datasets import load_routerbench, split
from routers.train_progress import RichTrainProgress

# The cascade the composed route gates with: fixed before looking at validation.
COMPOSED_WITH = "cascade+agreement+verifier"
PAIR_MODELS = 4  # parallel stages among the 4 cheapest models: 6 pairs
VARIANTS = (("cascade", False, False), ("cascade+agreement", True, False),
            ("cascade+verifier", False, True), ("cascade+agreement+verifier", True, True),
            ("cascade+agreement+vote", True, False))
VOTE = "+vote"


def within_task(scores: np.ndarray, labels: np.ndarray, tasks: list[str]) -> float:
    keep = ~np.isnan(scores)
    by = auroc_by_task(scores[keep], labels[keep], [t for t, k in zip(tasks, keep) if k])
    values = [v for v in by.values() if v is not None]
    return float(np.mean(values)) if values else float("nan")


def signal_inputs(ds: Any, emb: Any, sandbox: Sandbox | None,
                  cache: dict[str, list[float]]) -> tuple:
    answers = [ds.responses.get(m, [None] * len(ds)) for m in ds.models]
    # Word-set Jaccard for free text and code: no answer embeddings (see agreement.py).
    agree = agreement_tensor(answers, [None] * len(answers))
    if sandbox is None:
        return agree, np.zeros((len(ds), len(ds.models), len(VERIFIER_FEATURES)))
    verifier = np.stack([verifier_matrix(sandbox, col, ds.prompts, cache) for col in answers],
                        axis=1)
    return agree, verifier


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--val-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="first N rows only (smoke test)")
    parser.add_argument("--data", default=str(SHARED / "routing" / "routerbench"),
                        help="the RouterBench TRAIN folder (default: ../shared/data/...)")
    parser.add_argument("--variants", default=",".join(v[0] for v in VARIANTS),
                        help="comma-separated cascade variants to run (default: all)")
    parser.add_argument("--vote-models", type=int, default=5,
                        help="+vote: parallel stages among this many cheapest models")
    parser.add_argument("--vote-sizes", default="3",
                        help="+vote: sizes of those stages (2: a pair, 3+: a majority vote)")
    parser.add_argument("--composed-with", default=COMPOSED_WITH,
                        help="comma-separated variants to compose with the k-NN start")
    parser.add_argument("--out", default="routerbench", help="results file stem")
    args = parser.parse_args()
    chosen = args.variants.split(",")
    unknown = [v for v in chosen + args.composed_with.split(",")
               if v not in {x[0] for x in VARIANTS}]
    if unknown:
        parser.error(f"unknown variants {unknown}")
    header("routerbench.py", sys.argv[1:])
    started = time.perf_counter()
    ds = load_routerbench(args.data)
    if args.limit:
        ds = ds.subset(np.random.default_rng(0).choice(len(ds), args.limit, replace=False))
    train, val = split(ds, args.val_fraction, args.seed)
    print(f"RouterBench TRAIN files: {len(ds)} prompts x {len(ds.models)} models; "
          f"fit on {len(train)}, validation {len(val)} (by prompt, seed {args.seed})")
    emb = embedder()
    progress = RichTrainProgress().__enter__()
    t0 = time.perf_counter()
    # The fast scorer (query embedding + hand features): embedding the 3,300 code answers for
    # the full one took too long on the shared 2-core box this session.
    config = CascadeConfig(scorer=ScorerConfig(embed_answer=False), compare_frugalgpt=False,
                           seed=args.seed)
    trained = fit_cascade(train, emb, config, progress=progress)
    print(f"base cascade (fast scorer) trained in {time.perf_counter() - t0:.1f} s")
    train, val = trained.encoded.dataset, usable_rows(val)  # rows with every outcome and cost
    models, m = list(train.models), len(train.models)
    enc = trained.encoded
    val_enc = encode(val, emb, enc.embed_answer, progress)
    progress.__exit__(None, None, None)
    val_base = score_rows(val_enc, trained.artifact.heads)
    scorable = [train.models.index(x) for x in trained.artifact.heads]
    order = np.argsort(train.costs.mean(axis=0))
    cheap = [int(j) for j in order if int(j) in scorable][:PAIR_MODELS]
    pairs = [(a, b) for i, a in enumerate(cheap) for b in cheap[i + 1:]]
    voters = [int(j) for j in order if int(j) in scorable][:args.vote_models]
    groups = [g for size in map(int, args.vote_sizes.split(","))
              for g in combinations(voters, size)]

    verifier_cache_path = CACHE / "cascade_verifier.json"
    cache = json.loads(verifier_cache_path.read_text()) if verifier_cache_path.is_file() else {}
    t0 = time.perf_counter()
    if any(use_ver for name, _, use_ver in VARIANTS if name in chosen):
        with Sandbox() as sandbox:
            isolation = sandbox.isolation
            tr_agree, tr_ver = signal_inputs(train, emb, sandbox, cache)
            va_agree, va_ver = signal_inputs(val, emb, sandbox, cache)
    else:  # no variant reads the verifier: its inputs stay zero and no code runs
        isolation = "not started (no verifier variant)"
        tr_agree, tr_ver = signal_inputs(train, emb, None, cache)
        va_agree, va_ver = signal_inputs(val, emb, None, cache)
    verifier_cache_path.parent.mkdir(parents=True, exist_ok=True)
    verifier_cache_path.write_text(json.dumps(cache))
    print(f"agreement and verifier inputs in {time.perf_counter() - t0:.1f} s "
          f"(sandbox: {isolation})")

    _tr_tasks, va_tasks = list(train.eval_names), list(val.eval_names)
    auroc_rows: dict[str, Any] = {}
    candidates: list[Any] = list(standard_candidates(val, train, args.seed))
    search_seconds: dict[str, float] = {}
    columns: dict[str, Any] = {}
    for name, use_agree, use_ver in VARIANTS:
        if name not in chosen:
            continue
        t0 = time.perf_counter()
        tr_s = Signals(trained.oof_scores, tr_agree, tr_ver, use_agree, use_ver)
        va_s = Signals(val_base, va_agree, va_ver, use_agree, use_ver)
        variant_pairs: list[tuple[int, ...]] = list(pairs) if use_agree else []
        if name.endswith(VOTE):
            variant_pairs += [g for g in groups if g not in variant_pairs]
        if not use_agree and not use_ver:
            tr_scored = out_of_fold_stacked(Signals(trained.oof_scores, tr_agree, tr_ver, False, False),
                                            train.scores, scorable, [], args.seed)
        else:
            tr_scored = out_of_fold_stacked(tr_s, train.scores, scorable, variant_pairs, args.seed)
        heads = fit_stacked(tr_s, train.scores, scorable, variant_pairs)
        va_scored = apply_stacked(va_s, heads)
        tr_ext = extended(models, tr_scored, train.scores, train.costs, variant_pairs)
        frontier = pareto_frontier(tr_ext.outcomes, 3)
        va_ext = extended(models, va_scored, val.scores, val.costs, variant_pairs)
        candidates.append(StrategiesCandidate(name, frontier.strategies, va_ext, m))
        columns[name] = (frontier, tr_ext, va_ext)
        search_seconds[name] = round(time.perf_counter() - t0, 1)
        first = [within_task(va_scored.first[:, b], val.scores[:, b], va_tasks) for b in scorable]
        row: dict[str, Any] = {"first_stage": float(np.nanmean(first)),
                               "orderings": frontier.orderings}
        if use_agree:
            after = [within_task(va_scored.after[(a, b)], val.scores[:, b], va_tasks)
                     for b in scorable for a in range(m) if a != b]
            row["after_earlier_stage"] = float(np.nanmean(after))
            row["parallel_pairs"] = {
                "&".join(models[j] for j in g): within_task(
                    va_scored.pairs[g][0],
                    val.scores[np.arange(len(val)), va_scored.pairs[g][1]], va_tasks)
                for g in map(tuple, variant_pairs)
            }
            # The same stages' raw agreement (the majority's share, no head), for comparison.
            row["parallel_raw_share"] = {
                "&".join(models[j] for j in g): within_task(
                    raw_share(va_agree, g),
                    val.scores[np.arange(len(val)), va_scored.pairs[g][1]], va_tasks)
                for g in map(tuple, variant_pairs)
            }
        mbpp = [i for i, t in enumerate(va_tasks) if t == "mbpp"]
        if mbpp:
            rows = np.array(mbpp)
            row["mbpp_first_stage"] = float(np.nanmean([
                within_task(va_scored.first[rows, b], val.scores[rows, b],
                            [va_tasks[i] for i in rows]) for b in scorable]))
        auroc_rows[name] = row
    base_first = [within_task(val_base[:, b], val.scores[:, b], va_tasks) for b in scorable]
    auroc_rows["base scorer (no stacking)"] = {"first_stage": float(np.nanmean(base_first))}

    t0 = time.perf_counter()
    tr_q, va_q = enc.query_vectors, val_enc.query_vectors
    heads_p = fit_prompt_heads(tr_q, train.scores)
    p_heads = np.column_stack([h.predict(va_q) for h in heads_p])
    candidates.append(HeadsCandidate("heads", p_heads, train))
    knn, p_knn = knn_candidate(train, tr_q, val, va_q, emb)
    candidates.append(knn)
    # The composed route: settings (strategy, λ) chosen on training rows (out-of-fold k-NN
    # estimates and cascade scores), replayed on validation.
    mean_cost = np.nanmean(train.costs, axis=0)
    t1 = time.perf_counter()
    tr_knn = knn_out_of_fold(train, tr_q, emb, seed=args.seed)
    print(f"out-of-fold k-NN estimates on train in {time.perf_counter() - t1:.1f} s")
    for with_variant in args.composed_with.split(","):
        if with_variant not in columns:
            continue
        frontier, tr_ext, va_ext = columns[with_variant]
        t1 = time.perf_counter()
        front = composed_front(frontier.strategies, default_lambdas(train), tr_ext, models,
                               tr_knn, mean_cost)
        print(f"composed route's training front in {time.perf_counter() - t1:.1f} s")
        candidates.append(ComposedCandidate(f"composed (knn start + {with_variant})",
                                            [f[0] for f in front], va_ext, models, p_knn,
                                            mean_cost))
        auroc_rows[f"composed ({with_variant})"] = {
            "train_front_settings": len(front),
            "from": len(frontier.strategies) * len(default_lambdas(train))}
    for name, p in (("heads", p_heads), ("knn", p_knn)):
        auroc_rows[name + " (before generation)"] = {"first_stage": float(np.nanmean(
            [within_task(p[:, b], val.scores[:, b], va_tasks) for b in range(m)]))}
    print(f"heads and k-NN in {time.perf_counter() - t0:.1f} s")

    curves = replay(val, candidates)
    result = evaluate(val, curves, EvalConfig(bootstrap_resamples=1000, seed=args.seed))
    report(result, val, auroc_rows, search_seconds, time.perf_counter() - started, isolation,
           args.limit, args.out)


def raw_share(agree: np.ndarray, group: tuple[int, ...]) -> np.ndarray:
    """The largest share of a group's other members agreeing with one member's answer."""
    idx = np.asarray(group)
    sub = np.nan_to_num(agree[:, idx][:, :, idx], nan=0.5)
    share = (sub.sum(axis=2) - np.diagonal(sub, axis1=1, axis2=2)) / (len(group) - 1)
    return np.asarray(share.max(axis=1), dtype=np.float64)


def cost_to_match(points: list[Any], accuracy: float) -> float | None:
    reaching = [p.mean_cost_usd for p in points if p.accuracy >= accuracy - 1e-12]
    return min(reaching) if reaching else None


def report(result: Any, val: Any, aurocs: dict[str, Any], search_seconds: dict[str, float],
           seconds: float, isolation: str, limit: int = 0, stem: str = "routerbench") -> None:
    pooled = result.pooled
    singles = [c for c in pooled.candidates if c.kind == "model"]
    best = max(singles, key=lambda c: c.accuracy)
    gains = {d.candidate: d for d in pooled.versus_lookup}
    lines = [
        (f"validation: {len(val)} prompts; AIQ over ${pooled.aiq_cost_range[0]:.6f}"
        f"–${pooled.aiq_cost_range[1]:.6f} per prompt (recorded RouterBench costs)"),
        f"best single model: {best.name} {best.accuracy:.4f} at ${best.mean_cost_usd:.6f}/prompt",
        "",
        ("| candidate | kind | best accuracy at $/prompt | at lowest cost-of-pass: accuracy, "
         "$/prompt | AIQ | gain over lookup [95%] | cost to match best, % of its cost |"),
        "|---|---|---|---|---|---|---|",
    ]
    out: dict[str, Any] = {"candidates": {}, "aurocs": aurocs, "search_seconds": search_seconds,
                           "seconds": round(seconds, 1), "sandbox": isolation}
    for c in sorted(pooled.candidates, key=lambda c: -c.aiq if c.aiq == c.aiq else 0):
        reach = cost_to_match(list(c.points), best.accuracy)
        share = "not reached" if reach is None else f"{100 * reach / best.mean_cost_usd:.1f}%"
        d = gains.get(c.name)
        gain = "" if d is None else f"{d.difference:+.4f} [{d.ci.low:+.4f}, {d.ci.high:+.4f}]"
        top = max(c.points, key=lambda p: (p.accuracy, -p.mean_cost_usd))
        lines.append(f"| {c.name} | {c.kind} | {top.accuracy:.4f} at ${top.mean_cost_usd:.6f} | "
                     f"{c.accuracy:.4f}, ${c.mean_cost_usd:.6f} | "
                     f"{c.aiq:.4f} | {gain} | {share} |")
        out["candidates"][c.name] = {
            "kind": c.kind, "accuracy": c.accuracy, "mean_cost_usd": c.mean_cost_usd,
            "aiq": c.aiq, "cost_to_match_best_share": None if reach is None
            else reach / best.mean_cost_usd,
            "gain_over_lookup": None if d is None else [d.difference, d.ci.low, d.ci.high],
            "points": [[p.mean_cost_usd, p.accuracy] for p in c.points],
        }
    lines += ["", ("within-task AUROC on validation (mean over ARC-Challenge, MBPP, Winogrande "
              "and over scored models):"), ""]
    for name, row in aurocs.items():
        lines.append(f"- {name}: " + json.dumps(row, default=lambda x: round(x, 4)))
    lines.append(f"\nsandbox: {isolation}; search seconds per variant: {search_seconds}; "
                 f"total {seconds:.0f} s")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if limit == 0 else f"_limit{limit}"
    (RESULTS / f"{stem}{suffix}.md").write_text(text + "\n")
    (RESULTS / f"{stem}{suffix}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
