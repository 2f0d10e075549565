#!/usr/bin/env bash
# Installs the LiteLLM proxy, the peer the gateway benchmarks compare against, into its own
# virtualenv (.bench/litellm): it pins its own FastAPI/uvicorn/httpx, which must not leak
# into costroute's .venv. Benchmarks find it at .bench/litellm/bin/litellm.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv .bench/litellm
.bench/litellm/bin/pip install --quiet 'litellm[proxy]==1.108.7'
.bench/litellm/bin/litellm --version
