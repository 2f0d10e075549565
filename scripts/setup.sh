#!/usr/bin/env bash
# Sets up everything costroute needs, offline-friendly and idempotent:
#   scripts/setup.sh          the gateway, routers and evaluation (.venv)
#   scripts/setup.sh --test   plus test tools, redis-server, PostgreSQL and the local SmolLM2 model
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
# llama-cpp-python compiles llama.cpp (test setup only): use both cores, and build for
# AVX2 rather than -march=native. A native build on a VM that advertises AMX / AVX-512 which
# its kernel does not enable dies on the first chat prompt (general-protection fault in
# libggml-cpu), and pip's wheel cache would hand that build to any later machine too.
LLAMA_PORTABLE="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
CMAKE_ARGS=${CMAKE_ARGS:-$LLAMA_PORTABLE} pip_install "${constraints[@]}" -e ".[${extras}]"

# A llama.cpp that was built before (or taken from the wheel cache) for another CPU: check it
# can answer a prompt here, and rebuild it portable, bypassing the cache, when it cannot.
if [[ $want_test == 1 ]] && ! python scripts/check_local_model.py 2>/dev/null; then
  echo "setup: llama.cpp cannot run on this CPU; rebuilding it for AVX2 (several minutes)" >&2
  CMAKE_ARGS=$LLAMA_PORTABLE pip_install "${constraints[@]}" --no-cache-dir --force-reinstall \
    --no-deps llama-cpp-python
  python scripts/check_local_model.py
fi

# The console's browser tests drive Debian's Chromium (Playwright never downloads a browser).
if [[ $want_test == 1 ]] && [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) == 0 ]]; then
    apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; }
  else
    echo "setup: chromium is missing; install it with: sudo apt-get install -y chromium" >&2
  fi
fi

if [[ $want_test == 1 ]] && ! command -v redis-server >/dev/null; then
  if [[ $(id -u) == 0 ]]; then
    apt-get install -y -q redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server >/dev/null; }
  else
    echo "setup: redis-server is missing; install it with: sudo apt-get install -y redis-server" >&2
  fi
fi
# The records tests start their own PostgreSQL from initdb + postgres (PATH, /usr/local/bin
# or Debian's /usr/lib/postgresql/*/bin); the package's own cluster is not used.
if [[ $want_test == 1 ]] && ! command -v initdb >/dev/null \
    && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]]; then
    apt-get install -y -q postgresql >/dev/null || { apt-get update -q && apt-get install -y -q postgresql >/dev/null; }
  else
    echo "setup: PostgreSQL is missing; install it with: sudo apt-get install -y postgresql" >&2
  fi
fi

# The static k-NN encoder, distilled once from the packaged MiniLM into ~/.cache/costroute
# (a few minutes of CPU; skipped when present). The shipped `auto` artifact decides with it
# first and embeds with MiniLM only when unsure (routers.knn.hybrid); without it `auto`
# still serves, on MiniLM alone (tens of ms per decision instead of under one).
HF_HUB_OFFLINE=1 python -m routers.static_distill
