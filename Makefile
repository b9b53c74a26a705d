# One-command entry points. Each target creates the environment from the lock when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(VENV)/bin

.PHONY: run test lint typecheck imports pytest bench bench-search demo clean env db-stop

# The project environment, installed exactly from uv.lock (uv itself is bootstrapped with pip).
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet
	@touch $@

env: $(VENV)/.synced

run: env
	$(RUN)/citycam up

lint: env
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck: env
	$(RUN)/mypy

imports: env
	$(RUN)/lint-imports

pytest: env
	$(RUN)/pytest $(PYTEST_ARGS)

test: lint typecheck imports pytest

bench: env
	$(RUN)/python -m bench $(BENCH_ARGS)

# The search-indexing comparison (generated column vs unaccent) behind the registry's design.
bench-search: env
	$(RUN)/python -m bench.search_options $(BENCH_ARGS)

demo: env
	$(RUN)/citycam demo

db-stop: env
	$(RUN)/citycam db stop

clean:
	-$(RUN)/citycam db stop
	rm -rf $(VENV) $(TOOLS) .data .pytest_cache .mypy_cache .ruff_cache
