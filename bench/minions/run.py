"""Remote spend of router:minions / router:minion versus sending the whole document remote.

The local worker is the REAL SmolLM2-135M-Instruct (llama.cpp on this CPU); the remote is a
rule-based stand-in that follows the protocol (`oracle.py`), billed with the remote model's
own tokenizer and catalog price. The baseline bills the whole document + question + a
one-sentence answer to the same remote model. Quality is reported only as measured here
(135M local model, rule-based remote) and says nothing about a real remote model.

Run: .venv/bin/python bench/minions/run.py [--doc-tokens 2000 6000] [--questions 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.machine import machine
from bench.minions.oracle import OracleRemote
from bench.minions.tasks import DocTask, build_tasks
from pricing import PriceCatalog, TokenizerRegistry, Usage, cost_usd, count_messages
from routers.base import CallModel, Policy, RouteRequest, StageResult
from routers.minions.orchestrator import build_minions
from tests.localmodel import MODEL_ALIAS, run_local_model

JSON_MODES: dict[str, bool | str] = {"true": True, "false": False, "schema": "schema"}


@dataclass
class Row:
    protocol: str
    doc_tokens: int
    remote_prompt: int
    remote_completion: int
    remote_usd: float
    baseline_prompt: int
    baseline_usd: float
    local_calls: int
    local_tokens: int
    rounds: int
    wall_s: float
    local_found: bool  # the gold answer appeared in what the local model reported
    correct: bool  # the final answer contains the gold answer
    final: str = ""


class Calls:
    """The `CallModel` of the benchmark: real llama.cpp for local, the oracle for remote."""

    def __init__(self, http: httpx.AsyncClient, local_url: str, remote: str,
                 catalog: PriceCatalog, tokenizers: TokenizerRegistry):
        self.http, self.local_url, self.remote = http, local_url, remote
        self.price = catalog[remote]
        self.tokenizer = tokenizers.get(self.price.tokenizer)
        self.oracle = OracleRemote()

    async def __call__(self, model: str, messages: Sequence[Mapping[str, Any]],
                       params: Mapping[str, Any]) -> StageResult:
        if model == self.remote:
            text = self.oracle.reply(messages)
            usage = Usage(count_messages(self.tokenizer, messages), self.tokenizer.count(text))
            response = {"choices": [{"index": 0, "message": {"role": "assistant",
                                                             "content": text}}]}
            return StageResult(model, response, usage, cost_usd(self.price, usage), "remote")
        body = {"model": MODEL_ALIAS, "messages": list(messages), **params}
        reply = await self.http.post(f"{self.local_url}/chat/completions", json=body)
        reply.raise_for_status()
        data = reply.json()
        return StageResult(model, data, Usage.from_openai(data["usage"]), 0.0, "local")


async def run_one(protocol: str, task: DocTask, doc_tokens: int, args: argparse.Namespace,
                  http: httpx.AsyncClient, local_url: str, catalog: PriceCatalog,
                  tokenizers: TokenizerRegistry) -> Row:
    calls = Calls(http, local_url, args.remote_model, catalog, tokenizers)
    route = build_minions(protocol, local_model=MODEL_ALIAS, remote_model=args.remote_model,
                          max_rounds=args.max_rounds, max_parallel=args.max_parallel,
                          chunk_tokens=args.chunk_tokens, overlap_tokens=args.overlap_tokens,
                          local_max_tokens=args.local_max_tokens,
                          local_json_mode=JSON_MODES[args.local_json_mode])
    call: CallModel = calls
    started = time.perf_counter()
    outcome = await route.run(RouteRequest(task.messages()), [], Policy(), call)
    wall = time.perf_counter() - started
    summary = outcome.trace[0]
    baseline = Usage(count_messages(calls.tokenizer, task.messages()),
                     calls.tokenizer.count(f"The answer is {task.answer}."))
    gold = task.answer.lower()
    return Row(protocol, doc_tokens, summary["remote"]["prompt_tokens"],
               summary["remote"]["completion_tokens"], summary["remote"]["cost_usd"],
               baseline.prompt_tokens, cost_usd(calls.price, baseline),
               summary["local"]["calls"],
               summary["local"]["prompt_tokens"] + summary["local"]["completion_tokens"],
               summary["rounds"], wall,
               any(gold in a.lower() for a in calls.oracle.seen_answers),
               gold in outcome.final.text.lower(), outcome.final.text)


def report(rows: list[Row], remote: str, price: Any) -> None:
    print(f"\nremote model {remote}: ${price.input_per_mtok}/${price.output_per_mtok} per 1M "
          f"input/output tokens (catalog, {price.price_date}); local {MODEL_ALIAS} at $0")
    head = ("protocol", "doc tok", "n", "remote in", "remote out", "remote $", "whole-doc in",
            "whole-doc $", "reduction", "local calls", "local tok", "rounds", "wall s",
            "local found", "correct")
    print(" | ".join(head))
    groups: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.protocol, row.doc_tokens), []).append(row)
    for (protocol, doc_tokens), group in groups.items():
        def mean(attr: str, g: list[Row] = group) -> float:
            return statistics.fmean(getattr(r, attr) for r in g)
        remote_usd, baseline_usd = mean("remote_usd"), mean("baseline_usd")
        print(" | ".join([
            protocol, str(doc_tokens), str(len(group)), f"{mean('remote_prompt'):.0f}",
            f"{mean('remote_completion'):.0f}", f"{remote_usd:.6f}",
            f"{mean('baseline_prompt'):.0f}", f"{baseline_usd:.6f}",
            f"{baseline_usd / remote_usd:.1f}x", f"{mean('local_calls'):.1f}",
            f"{mean('local_tokens'):.0f}", f"{mean('rounds'):.1f}", f"{mean('wall_s'):.1f}",
            f"{sum(r.local_found for r in group)}/{len(group)}",
            f"{sum(r.correct for r in group)}/{len(group)}"]))
    print("\nremote out = the rule-based remote's JSON only: a real remote model writes more "
          "(reasoning, longer plans), so the real reduction is smaller than shown. 'correct' "
          "and 'local found' measure SmolLM2-135M with a rule-based aggregator, not the "
          "protocol's quality with a real remote model.")


async def main_async(args: argparse.Namespace) -> None:
    catalog = PriceCatalog.shipped()
    tokenizers = TokenizerRegistry()
    rows: list[Row] = []
    with run_local_model(n_threads=args.threads) as local_url:
        async with httpx.AsyncClient(timeout=1800) as http:
            for doc_tokens in args.doc_tokens:
                tasks, source = build_tasks(args.questions, doc_tokens, seed=args.seed)
                print(f"documents of ~{doc_tokens} tokens, filler: {source}")
                for protocol in args.protocols:
                    for i, task in enumerate(tasks):
                        row = await run_one(protocol, task, doc_tokens, args, http, local_url,
                                            catalog, tokenizers)
                        print(f"  {protocol} q{i} ({task.kind}): remote ${row.remote_usd:.6f}"
                              f" vs ${row.baseline_usd:.6f}, {row.local_calls} local calls, "
                              f"{row.wall_s:.1f}s, gold={task.answer!r} "
                              f"final={row.final[:60]!r}", flush=True)
                        rows.append(row)
    report(rows, args.remote_model, catalog[args.remote_model])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc-tokens", type=int, nargs="+", default=[2000, 6000])
    parser.add_argument("--questions", type=int, default=2, help="tasks per document size")
    parser.add_argument("--protocols", nargs="+", default=["minions", "minion"],
                        choices=["minions", "minion"])
    parser.add_argument("--remote-model", default="gpt-4o")
    parser.add_argument("--max-rounds", type=int, default=2)
    parser.add_argument("--max-parallel", type=int, default=2)
    parser.add_argument("--chunk-tokens", type=int, default=800)
    parser.add_argument("--overlap-tokens", type=int, default=80)
    parser.add_argument("--local-max-tokens", type=int, default=96)
    parser.add_argument("--local-json-mode", choices=sorted(JSON_MODES), default="true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"command: .venv/bin/python bench/minions/run.py {' '.join(sys.argv[1:])}".rstrip())
    print(machine())
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
