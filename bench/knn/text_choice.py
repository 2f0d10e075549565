"""Why the router embeds the final question of a few-shot prompt, shown on real prompts.

MiniLM reads 256 word pieces. A few-shot prompt opens with the same worked examples, so
embedded whole, every prompt of a task lands on nearly the same vector and a k-NN router
cannot tell them apart. Two sets:

* MMLU 5-shot: RouteLLM's files hold the bare questions, so the 5-shot prompts are rebuilt
  the usual way (lm-eval's header, then 5 answered questions of the same subject; the first
  5 rows of each subject serve as the examples, with the answer letter as a placeholder),
  for 6 subjects x 25 questions.
* FrugalGPT HEADLINES: its real 8-shot prefix + each headline query (150 test rows).

For each: mean pairwise cosine (within a subject for MMLU), share of prompts whose nearest
other prompt is a near-duplicate (cosine > 0.99), share of full prompts whose question
starts past token 256, and for HEADLINES how often the nearest prompt has the same answer.

Run: .venv/bin/python bench/knn/text_choice.py
"""

from __future__ import annotations

import csv

import numpy as np
from common import REPO, ROUTING, embedder, header

from routers.datasets import embedding_text, load_routellm_mmlu
from routers.embedding import MINILM_MAX_TOKENS, Vectors, minilm_path

SUBJECTS = ["anatomy", "college_biology", "high_school_us_history", "machine_learning",
            "moral_scenarios", "professional_law"]
HEADLINES = REPO / ".." / "shared" / "data" / "frugalgpt"


def mmlu_five_shot() -> tuple[list[str], list[str]]:
    ds = load_routellm_mmlu(ROUTING / "routellm" / "mmlu")
    prompts, groups = [], []
    for subject in SUBJECTS:
        rows = [i for i, e in enumerate(ds.eval_names) if e == subject]
        shots = "".join(ds.prompts[i] + " A\n\n" for i in rows[:5])
        head = f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
        for i in rows[5:30]:
            prompts.append(head + shots + ds.prompts[i])
            groups.append(subject)
    return prompts, groups


def headlines() -> tuple[list[str], list[str]]:
    prefix = (HEADLINES / "config_prompt_HEADLINES_prefix_e8.txt").read_text()
    with (HEADLINES / "data_HEADLINES_test.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))[:150]
    return [prefix + r[0] for r in rows], [r[1] for r in rows]


def stats(vectors: Vectors, groups: list[str]) -> tuple[float, float, float]:
    sims = vectors @ vectors.T
    n = len(groups)
    same = np.array([[a == b for b in groups] for a in groups]) & ~np.eye(n, dtype=bool)
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    near_dup = float((sims.max(axis=1) > 0.99).mean())
    agree = float(np.mean([groups[i] == groups[j] for i, j in enumerate(nearest)]))
    return float(sims[same].mean()), near_dup, agree


def question_past_limit(prompts: list[str]) -> float:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    tok.no_truncation()
    late = [len(tok.encode(p[: len(p) - len(embedding_text(p))]).ids) >= MINILM_MAX_TOKENS - 2
            for p in prompts]
    return float(np.mean(late))


def main() -> None:
    header("text_choice.py", [])
    emb = embedder()
    for name, (prompts, groups), label in [
        ("MMLU 5-shot (rebuilt), 6 subjects x 25", mmlu_five_shot(), "same subject"),
        ("FrugalGPT HEADLINES 8-shot, 150 test queries", headlines(), "same answer label"),
    ]:
        print(f"\n{name}")
        print(f"  questions starting past MiniLM's {MINILM_MAX_TOKENS} tokens in the full prompt: "
              f"{question_past_limit(prompts):.0%}")
        for what, texts in [("full prompt   ", prompts),
                            ("final question", [embedding_text(p) for p in prompts])]:
            mean_sim, dup, agree = stats(emb.embed(texts), groups)
            print(f"  {what}: mean pairwise cosine ({label}) {mean_sim:.3f}; "
                  f"nearest is a near-duplicate (cos>0.99) {dup:.0%}; nearest has {label} {agree:.0%}")


if __name__ == "__main__":
    main()
