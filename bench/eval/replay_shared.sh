#!/usr/bin/env sh
# Regenerates bench/results/replay: `costroute eval replay` over every dataset in
# ../shared/data/routing with every single model, the oracle, the baselines, the k-NN router
# and the cascade (each router trained on TRAIN only), then a one-page summary.
#
#   bench/eval/replay_shared.sh [--router ARTIFACT_DIR ...]
#
# Datasets: RouteLLM MMLU and GSM8K (20% test splits, the 80% trains), MT-Bench turn 1
# (80 questions, no training part: the RouteLLM routers are applied as trained, as RouteLLM
# evaluates), LLMRouter's test file (its train file trains). The cascade needs recorded
# answers: only GSM8K and MT-Bench have them; the report says so for the others.
# Training files, artifacts and the embedding cache live in $WORK and are reused; set
# REPLAY_RETRAIN=1 to retrain. First run ≈ 25 min on 2 shared cores (MiniLM embeds ~6k MMLU
# prompts the other benchmarks' caches lack); later runs ≈ 6 min (replay embeds the test
# prompts again: the k-NN replay has no disk cache).
set -e
cd "$(dirname "$0")/../.."
WORK="${COSTROUTE_BENCH_CACHE:-$HOME/.cache/costroute/bench}/replay"
OUT=bench/results/replay
# Two cores: torch gets both for MiniLM, numpy's BLAS one (its threads only spin in the
# bootstrap). Batch embedding is faster on torch than ONNX here (28 vs 12 prompts/s).
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export COSTROUTE_EMBEDDER_BACKEND=torch HF_HUB_OFFLINE=1
echo "command: bench/eval/replay_shared.sh $*"
.venv/bin/python -c "import sys; sys.path.insert(0, '.'); from bench.machine import machine; print(machine())"
start=$(date +%s)

run() { echo "+ $*" >&2; "$@"; }
train() {  # train DIR COMMAND...: reuse DIR unless it is missing or REPLAY_RETRAIN is set
  dir=$1; shift
  if [ -n "$REPLAY_RETRAIN" ] || [ ! -f "$dir/manifest.json" ]; then run "$@"; else echo "reusing $dir"; fi
}

run .venv/bin/python bench/eval/prepare_shared.py "$WORK"
cache="--embedding-cache $WORK/minilm.npz"
# shellcheck disable=SC2086
train "$WORK/knn_routellm" .venv/bin/costroute train knn \
  --data "$WORK/routellm_train.csv" --out "$WORK/knn_routellm" $cache
# shellcheck disable=SC2086
train "$WORK/knn_llmrouter" .venv/bin/costroute train knn \
  --data "$WORK/llmrouter_train.csv" --out "$WORK/knn_llmrouter" $cache
# shellcheck disable=SC2086
train "$WORK/cascade_gsm8k" .venv/bin/costroute train cascade \
  --data "$WORK/routellm_gsm8k_train.csv" --out "$WORK/cascade_gsm8k" --no-compare-frugalgpt $cache

rm -f "$OUT"/*.png  # plots of datasets no longer replayed must not linger
run .venv/bin/costroute eval replay \
  --data routellm-mmlu:test --data routellm-gsm8k:test \
  --data "$WORK/mt_bench_turn1.csv" --data llmrouter \
  --router "$WORK/knn_routellm" --router "$WORK/knn_llmrouter" --router "$WORK/cascade_gsm8k" \
  --config bench/eval/replay_config.yaml --out "$OUT" --quiet "$@"
run .venv/bin/python bench/eval/summarize_replay.py "$OUT/report.json" \
  --cascade-artifact "$WORK/cascade_gsm8k" --about bench/eval/replay_about.md > "$OUT/summary.md"
echo "wrote $OUT/summary.md"
echo "wall: $(( $(date +%s) - start )) s"
