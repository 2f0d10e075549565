#!/usr/bin/env bash
# Sets up everything costroute needs, offline-friendly and idempotent:
#   scripts/setup.sh          the gateway, routers and evaluation (.venv)
#   scripts/setup.sh --test   plus test tools, redis-server and the local SmolLM2 model
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1
PY=${PYTHON:-python3}

if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
pip_install() { python -m pip install -q --disable-pip-version-check "$@"; }

# torch first, pinned: an unpinned torch (pulled by sentence-transformers) is a multi-GB
# CUDA build. 2.13.0 is the CPU wheel.
python -c "import torch" 2>/dev/null || pip_install "torch==2.13.0"

extras="ml"
[[ $want_test == 1 ]] && extras="ml,test,local"
constraints=()
[[ -f constraints.txt ]] && constraints=(-c constraints.txt)
# llama-cpp-python compiles llama.cpp (test setup only): use both cores.
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
  pip_install "${constraints[@]}" -e ".[${extras}]"

if [[ $want_test == 1 ]] && ! command -v redis-server >/dev/null; then
  if [[ $(id -u) == 0 ]]; then
    apt-get install -y -q redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server >/dev/null; }
  else
    echo "setup: redis-server is missing; install it with: sudo apt-get install -y redis-server" >&2
  fi
fi

# The static k-NN encoder, distilled once from the packaged MiniLM into ~/.cache/costroute
# (a few minutes of CPU; skipped when present). Serving then needs no torch for it.
HF_HUB_OFFLINE=1 python -m routers.static_distill
