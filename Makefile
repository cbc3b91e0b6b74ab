# Everything a fresh machine needs: uv (installed with pip when missing), the locked Python
# packages, Java for the Spark parity test, and chromium for the browser tests. `make demo` and
# `make test` bootstrap themselves.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
RUN := $(UV) run --frozen --no-sync
# Python writes each module's bytecode the first time it is imported (an environment that
# turns this off would recompile mlflow, feast and the rest in every process); compiling the
# whole environment up front costs a minute that the demo does not need
export PYTHONDONTWRITEBYTECODE :=

.PHONY: setup setup-app browser demo test check lint typecheck bench clean

# the demo's packages only (no Spark, Playwright or linters): quick from a fresh clone
setup-app: .venv/.driftpilot-app

.venv/.driftpilot-app: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --no-dev --inexact
	@touch $@

# everything, test tools included, and Java for the Spark parity test
setup: .venv/.driftpilot-synced

.venv/.driftpilot-synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing Java (needed by the Spark parity test)"; \
	  (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless) >/dev/null; }
	$(UV) sync --frozen
	@touch $@ .venv/.driftpilot-app

# Debian's chromium for the dashboard's browser tests (Playwright drives it; no download)
browser:
	@test -x /usr/bin/chromium || { echo "installing chromium (the dashboard's browser tests)"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; }

demo: setup-app
	$(RUN) driftpilot demo --dir demo-data

# one worker per CPU this process may use (at most 4), each taking whole modules, longest first (tests/conftest.py)
test: setup browser
	$(RUN) pytest -q -n auto --maxprocesses 4 --no-loadscope-reorder

lint: setup
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks

typecheck: setup
	$(RUN) mypy

check: lint typecheck test

bench: setup
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (HTTP load generator)"; \
	  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null; }
	$(RUN) python benchmarks/drift/run.py
	$(RUN) python benchmarks/ingest/run.py
	$(RUN) python benchmarks/detection/run.py
	$(RUN) python benchmarks/serve/run.py
	$(RUN) python benchmarks/features/run.py

clean:
	rm -rf .venv demo-data test-artifacts .pytest_cache .mypy_cache .ruff_cache
