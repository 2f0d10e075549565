#!/usr/bin/env sh
# Regenerates bench/results/replay: `costroute eval replay` over the shared routing data
# (RouteLLM MMLU+GSM8K 20% test split as bench/knn uses it, and LLMRouter's test file),
# every single model, the oracle and the baselines, plus any artifacts passed as arguments:
#   bench/eval/replay_shared.sh --router ARTIFACT_DIR [--router ...]
# Prices and assumptions are written next to every figure in the report.
set -e
cd "$(dirname "$0")/../.."
echo "command: bench/eval/replay_shared.sh $*"
echo "machine: nproc=$(nproc) RAM=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) load=$(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
.venv/bin/costroute eval replay \
  --data routellm:test --data llmrouter \
  --config bench/eval/replay_config.yaml \
  --out bench/results/replay --quiet "$@"
echo "wall: $(( $(date +%s) - start )) s"
