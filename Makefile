# The README's two commands: `make serve` and `make test`.
PORT ?= 8000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=

.PHONY: setup setup-test serve test lint bench-overhead

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

serve: setup
	.venv/bin/costroute serve --host $(HOST) --port $(PORT)

# The local model is part of the suite: its absence fails the run instead of skipping.
test: setup-test
	COSTROUTE_REQUIRE_LOCAL_MODEL=1 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	.venv/bin/pip install -q -c constraints.txt -e ".[lint]"
	.venv/bin/ruff check gateway routers pricing eval tests bench
	.venv/bin/mypy gateway routers pricing eval

bench-overhead: setup-test
	.venv/bin/python bench/overhead/run.py
