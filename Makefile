# One-command entry points. Each target creates the environment from the lock when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(VENV)/bin

.PHONY: run test lint typecheck imports pytest bench bench-search demo clean env db-stop deploy-tools

# The project environment, installed exactly from uv.lock (uv itself is bootstrapped with pip).
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet
	@touch $@

env: $(VENV)/.synced

# checkov in its own environment, exactly from its hashed pins: its dependencies would downgrade
# packages the project uses (deploy/k8s/checkov/requirements.in says how the pins are made).
CHECKOV_ENV := $(TOOLS)/checkov
$(CHECKOV_ENV)/.synced: $(UV) deploy/k8s/checkov/requirements.txt
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(CHECKOV_ENV)
	$(UV) pip sync --quiet --python $(CHECKOV_ENV)/bin/python --require-hashes deploy/k8s/checkov/requirements.txt
	@touch $@

deploy-tools: $(CHECKOV_ENV)/.synced

run: env
	$(RUN)/citycam up

lint: env
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck: env
	$(RUN)/mypy

imports: env
	$(RUN)/lint-imports

# tests/deploy renders deploy/k8s with kustomize v5 (kubectl's, or a kustomize on PATH) and runs checkov.
pytest: env deploy-tools
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
