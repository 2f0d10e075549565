"""Answer agreement on RouterBench's multiple-choice tasks, measured directly (issue #16).

For ARC-Challenge and Winogrande: how often the project's extractor (`agreement.normalised`)
finds a choice in each model's recorded answer; whether the extracted choice is consistent
with the recorded correctness (a right answer carries the gold letter, a wrong one does not;
gold is the letter the right answers share); and the within-task AUROC, for model b's
correctness, of

* "b's answer agrees with model X's answer" (every X), and
* "the fraction of the k cheapest other models that agree with b" (k = 1, 2, 3),

and of the k-of-n majority vote among the n cheapest models: how often a majority of m
exists and how often its answer is right. Rows are the training side of the bench's split
(70/30 by prompt, seed 0) unless --side val is given; nothing is fitted here.

Usage: PYTHONPATH=$PWD python bench/cascade/agreement_signal.py
       [--data ../shared/data/routing/routerbench] [--side train|val|all]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from routers.cascade.agreement import normalised, unwrap
from routers.cascade.metrics import auroc
from routers.datasets import load_routerbench, split

CHOICE_TASKS = ("arc-challenge", "winogrande")


def choices(answers: list[str | None]) -> list[str | None]:
    out: list[str | None] = []
    for a in answers:
        norm = None if a is None else normalised(a)
        out.append(norm if norm is not None and norm.startswith("choice:") else None)
    return out


def gold_letters(picked: list[list[str | None]], scores: np.ndarray) -> list[str | None]:
    """Per row, the choice the right answers share (None when no right answer names one)."""
    gold: list[str | None] = []
    for i in range(scores.shape[0]):
        right = Counter(picked[j][i] for j in range(len(picked))
                        if scores[i, j] >= 0.5 and picked[j][i] is not None)
        gold.append(right.most_common(1)[0][0] if right else None)
    return gold


def agree_matrix(a: list[str | None], b: list[str | None]) -> np.ndarray:
    """1 where both extracted and equal, 0 where both extracted and different, NaN else."""
    return np.array([np.nan if x is None or y is None else float(x == y) for x, y in zip(a, b)])


def fraction_agreeing(picked: list[list[str | None]], b: int, others: list[int]) -> np.ndarray:
    """Share of `others` whose choice equals b's (a missing choice counts as disagreement)."""
    n = len(picked[b])
    out = np.zeros(n)
    for o in others:
        out += np.array([float(picked[b][i] is not None and picked[o][i] == picked[b][i])
                         for i in range(n)])
    return out / max(len(others), 1)


def vote(picked: list[list[str | None]], voters: list[int], i: int) -> tuple[str | None, int]:
    counts = Counter(picked[v][i] for v in voters if picked[v][i] is not None)
    if not counts:
        return None, 0
    letter, count = counts.most_common(1)[0]
    return letter, count


def ceiling(rows: object, models: list[str], by_cost: list[int]) -> dict[str, object]:
    """An optimistic bound on what gating by cheap-model agreement can buy: voters V answer
    every prompt; per (task, which voters agree with the plurality) cell, either accept the
    plurality answer or escalate to any one other model, choosing per cell *in-sample* (on
    these very rows, greedily by accuracy gained per dollar) until the dearest model's own
    accuracy is reached. Gating on these voters' agreement cannot beat this on the same
    rows (it ignores the cost of a stage that is itself escalated from)."""
    ds = rows  # a RoutingDataset
    known = ~np.isnan(ds.scores).any(axis=1) & ~np.isnan(ds.costs).any(axis=1)  # type: ignore[attr-defined]
    ds = ds.subset(np.flatnonzero(known))  # type: ignore[attr-defined]
    top = by_cost[-1]
    y, c = ds.scores, ds.costs
    target, top_cost = float(y[:, top].mean()), float(c[:, top].mean())
    picked_all = [
        [None if a is None else normalised(a) for a in ds.responses[m]] for m in models
    ]
    print(f"\nceiling (in-sample, {len(ds)} prompts; target {models[top]}'s accuracy "
          f"{target:.4f} at ${top_cost:.6f}/prompt):")
    result: dict[str, object] = {}
    cheap = [j for j in by_cost if np.mean(c[:, j]) < 0.2 * top_cost]
    sets = [cheap[:k] for k in range(2, 6)] + [[j for j in cheap if models[j] in (
        "zero-one-ai/Yi-34B-Chat", "mistralai/mixtral-8x7b-chat")]]
    for voters in sets:
        n = len(ds)
        plural_ok = np.zeros(n)
        cell: list[tuple[str, tuple[int, ...]]] = []
        for i in range(n):
            # Free text (MBPP) has no exact answer: group by exact normalised text, which is
            # what a vote over code would need to be exact.
            keys = [picked_all[v][i] or f"text:{ds.responses[models[v]][i]}" for v in voters]
            letter, _ = Counter(keys).most_common(1)[0]
            agreeing = tuple(int(k == letter) for k in keys)
            first = next(v for v, k in zip(voters, keys) if k == letter)
            plural_ok[i] = y[i, first]
            cell.append((ds.eval_names[i], agreeing))
        base_cost = float(c[:, voters].sum(axis=1).mean())
        steps = []
        for key in set(cell):
            members = np.array([i for i in range(n) if cell[i] == key])
            # Escalating the cell to model e: accuracy gained and dollars spent; its upper
            # convex hull gives increments of falling gain per dollar (a multiple-choice
            # knapsack that greedy solves up to one fractional cell).
            options = sorted((float(c[members, e].sum()),
                              float((y[members, e] - plural_ok[members]).sum()))
                             for e in range(len(models)) if e not in voters)
            spent, gained = 0.0, 0.0
            while True:
                better = [(g - gained) / (sp - spent) for sp, g in options
                          if sp > spent and g > gained]
                if not better:
                    break
                ratio = max(better)
                sp, g = next((sp, g) for sp, g in options if sp > spent and g > gained
                             and (g - gained) / (sp - spent) == ratio)
                steps.append((ratio, g - gained, sp - spent))
                spent, gained = sp, g
        steps.sort(reverse=True)
        # Escalating a random part of a cell interpolates linearly between these points.
        costs_at, accs_at = [base_cost], [float(plural_ok.mean())]
        for _, gain, spend in steps:
            costs_at.append(costs_at[-1] + spend / n)
            accs_at.append(accs_at[-1] + gain / n)
        reached = (float(np.interp(target, accs_at, costs_at)) / top_cost
                   if accs_at[-1] >= target else None)
        at_30 = float(np.interp(0.3 * top_cost, costs_at, accs_at, left=np.nan))
        names = "+".join(models[v].split("/")[-1] for v in voters)
        shown = "not reached" if reached is None else f"{100 * reached:.1f}%"
        print(f"  voters {names}: their cost ${base_cost:.6f} "
              f"({100 * base_cost / top_cost:.1f}%); accuracy {at_30:.4f} at 30% of "
              f"{models[top]}'s cost; its accuracy reached at {shown} of its cost")
        result[names] = {"reach_share": reached, "accuracy_at_30pct": at_30}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(REPO / ".." / "shared" / "data" / "routing"
                                             / "routerbench"))
    parser.add_argument("--side", choices=("train", "val", "all"), default="train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="", help="write the figures here as JSON too")
    args = parser.parse_args()
    ds = load_routerbench(args.data)
    train, val = split(ds, 0.3, args.seed)
    rows = {"train": train, "val": val, "all": ds}[args.side]
    models = list(rows.models)
    mean_cost = np.nanmean(ds.costs, axis=0)
    by_cost = [int(j) for j in np.argsort(mean_cost)]
    print(f"side {args.side}: {len(rows)} prompts; models by mean recorded cost $/prompt:")
    for j in by_cost:
        print(f"  {models[j]:36s} ${mean_cost[j]:.6f}")
    out: dict[str, object] = {}
    for task in CHOICE_TASKS:
        idx = [i for i, t in enumerate(rows.eval_names) if t == task]
        if not idx:
            continue
        sub = rows.subset(idx)
        picked = [choices(sub.responses[m]) for m in models]
        gold = gold_letters(picked, sub.scores)
        print(f"\n## {task}: {len(sub)} prompts")
        print("| model | extracted | consistent with recorded score | accuracy | "
              "AUROC agree w/ cheapest-1/2/3 others (fraction) | best single-X agreement AUROC |")
        print("|---|---|---|---|---|---|")
        task_out: dict[str, object] = {}
        for b in by_cost:
            y = sub.scores[:, b]
            known = ~np.isnan(y)
            got = np.array([p is not None for p in picked[b]])
            consistent = [(picked[b][i] == gold[i]) == (y[i] >= 0.5)
                          for i in range(len(sub)) if known[i] and got[i] and gold[i] is not None]
            others = [o for o in by_cost if o != b]
            frac = []
            for k in (1, 2, 3):
                f = fraction_agreeing(picked, b, others[:k])
                frac.append(auroc(f[known], y[known]))
            single = {}
            for x in others:
                f = fraction_agreeing(picked, b, [x])
                single[models[x]] = auroc(f[known], y[known])
            best_x = max(single, key=lambda k: single[k] or 0)
            acc = float(np.nanmean(y))
            rate = float(got.mean())
            cons = float(np.mean(consistent)) if consistent else float("nan")
            print(f"| {models[b]} | {rate:.3f} | {cons:.3f} | {acc:.3f} | "
                  + " / ".join(f"{v:.3f}" for v in frac if v is not None)
                  + f" | {single[best_x]:.3f} ({best_x}) |")
            task_out[models[b]] = {"extracted": rate, "consistent": cons, "accuracy": acc,
                                   "auroc_fraction_k": frac, "auroc_single": single}
            # Samples of what the extractor misses, to see whether it is broken.
            misses = Counter(unwrap(a or "")[:40] for a, p in zip(sub.responses[models[b]],
                                                                  picked[b]) if p is None)
            if misses:
                print(f"|   misses: {dict(misses.most_common(3))} | | | | | |")
        # k-of-n vote among the n cheapest models.
        print("\nvote among the n cheapest: n, m -> share of rows with >= m agreeing, "
              "accuracy of the majority there, accuracy of cheapest alone there")
        votes = {}
        for n in (2, 3, 4, 5):
            voters = by_cost[:n]
            for m in range(2, n + 1):
                if m <= n // 2:
                    continue
                acc_there, hit, cheap_acc = [], 0, []
                for i in range(len(sub)):
                    letter, count = vote(picked, voters, i)
                    if count >= m:
                        hit += 1
                        acc_there.append(float(letter == gold[i]) if gold[i] else 0.0)
                        cheap_acc.append(sub.scores[i, voters[0]])
                share = hit / len(sub)
                a = float(np.mean(acc_there)) if acc_there else float("nan")
                print(f"  n={n} m={m}: {share:.3f} of rows, accuracy {a:.3f} "
                      f"(cheapest alone {np.nanmean(cheap_acc) if cheap_acc else float('nan'):.3f})")
                votes[f"{n}of{m}"] = [share, a]
        task_out["votes"] = votes
        out[task] = task_out
    out["ceiling"] = ceiling(rows, models, by_cost)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
