# ofa-tf: fresh-clone entry points. `make demo` trains, `make test` tests; both set up first.
#
#   make setup        .venv/ with the pinned requirements (re-runs when requirements.txt changes)
#   make bazel-setup  Bazel 4.2.3 from Debian (bazel-bootstrap + offline rule repositories)
#   make demo         setup + bazel-setup + the main job (train, search, export) [ARGS="..."]
#   make test         setup + the fast pytest suite on 2 workers
#   make test-slow    setup + the tests marked slow
#   make bazel-test   setup + bazel-setup + bazel test of every target not tagged slow
#   make latency-tables  setup + rebuild, validate and document the shipped latency tables
#                        (idle machine, about 1 h; see tools/rebuild_latency_tables.sh)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.requirements-installed
BAZEL ?= bazel
# Extra arguments for the demo binary, e.g. make demo ARGS="--preset=smoke --workdir=/tmp/w".
ARGS ?=
# Bazel actions and binaries use the python3 first on PATH when .venv is missing (see
# tools/python/python3); keep the project's environment first for every Bazel command.
WITH_VENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

# Debian packages providing Bazel and the rule repositories WORKSPACE points at.
BAZEL_DEB_PACKAGES := bazel-bootstrap bazel-bootstrap-source bazel-platforms
BAZEL_OFFLINE_REPOS := /usr/src/bazel-bootstrap/mock_repos/rules_cc \
                       /usr/src/bazel-bootstrap/mock_repos/rules_java \
                       /usr/share/bazel/tools/platforms

.PHONY: help setup bazel-setup demo test test-slow bazel-test latency-tables

help:
	@sed -n '1,11p' $(firstword $(MAKEFILE_LIST))

setup: $(SETUP_STAMP)

$(SETUP_STAMP): requirements.txt
	@if [[ ! -x "$(VENV_PYTHON)" ]]; then \
	  echo "==> creating $(VENV) with $$($(PYTHON) --version 2>&1) ($(PYTHON))"; \
	  if ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
	    echo "warning: the pins in requirements.txt were verified on Python 3.11;" \
	         "use PYTHON=python3.11 if the install fails" >&2; \
	  fi; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@echo "==> installing requirements.txt into $(VENV)"
	$(VENV_PYTHON) -m pip install --disable-pip-version-check --progress-bar off -r requirements.txt
	@touch $@

bazel-setup:
	@missing=0; \
	command -v $(BAZEL) >/dev/null 2>&1 || missing=1; \
	for d in $(BAZEL_OFFLINE_REPOS); do [[ -d "$$d" ]] || missing=1; done; \
	if [[ $$missing == 0 ]]; then \
	  echo "==> bazel: $$(command -v $(BAZEL)) ($$($(BAZEL) --version 2>/dev/null | head -n1))"; \
	  exit 0; \
	fi; \
	echo "==> installing Bazel from Debian: $(BAZEL_DEB_PACKAGES)"; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "error: Bazel 4.2.3 and its offline rule repositories are missing and apt-get is" \
	       "not available. Install the Debian/Ubuntu packages $(BAZEL_DEB_PACKAGES)" \
	       "(they provide /usr/bin/bazel and $(BAZEL_OFFLINE_REPOS))." >&2; \
	  exit 1; \
	fi; \
	if [[ $$(id -u) == 0 ]]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else \
	  echo "error: installing $(BAZEL_DEB_PACKAGES) needs root: run 'make bazel-setup' as" \
	       "root, or install sudo." >&2; \
	  exit 1; \
	fi; \
	$$sudo apt-get update; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $(BAZEL_DEB_PACKAGES); \
	command -v $(BAZEL) >/dev/null 2>&1 || { \
	  echo "error: '$(BAZEL)' is still not on PATH after installing $(BAZEL_DEB_PACKAGES)" >&2; \
	  exit 1; }

# The main job, end to end on the bundled digits: train the supernet by progressive shrinking,
# sample and evaluate subnets, fit the accuracy predictor, search under DEMO_BUDGET, and export
# the chosen subnet for the CPU (int8) and the Coral EdgeTPU. Every step resumes or is
# re-derived, so an interrupted `make demo` can simply be run again.
DEMO_WORKDIR ?= $(CURDIR)/workdirs/demo
DEMO_SUBNETS ?= 50
DEMO_BUDGET ?= macs:2.5e6
RUN := $(WITH_VENV) $(BAZEL) run --ui_event_filters=-info --noshow_progress

demo: setup bazel-setup
	$(RUN) //trainers:progressive_shrink -- --workdir=$(DEMO_WORKDIR) $(ARGS)
	$(RUN) //trainers:build_accuracy_dataset -- --workdir=$(DEMO_WORKDIR) \
	  --num_subnets=$(DEMO_SUBNETS)
	$(RUN) //trainers:train_accuracy_predictor -- --workdir=$(DEMO_WORKDIR) --overwrite
	$(RUN) //trainers:search -- --workdir=$(DEMO_WORKDIR) --constraint=$(DEMO_BUDGET) \
	  --overwrite
	$(RUN) //export:export_tflite -- --workdir=$(DEMO_WORKDIR) \
	  --subnet=$(DEMO_WORKDIR)/search/best_subnet.json --target=cpu_int8,edgetpu_int8 \
	  --output_dir=$(DEMO_WORKDIR)/export --overwrite

# pytest exits 5 when it collects no test: that fails the target like any failing test.
test: setup
	$(VENV_PYTHON) -m pytest -m "not slow" -n 2 -q

test-slow: setup
	$(VENV_PYTHON) -m pytest -m slow -q

bazel-test: setup bazel-setup
	$(WITH_VENV) $(BAZEL) test --test_tag_filters=-slow //...

# Latency tables of OFA-MobileNetV3 w1.0 (128-224 px) for the XNNPACK and builtin-kernel CPU
# profiles, rebuilt from scratch on this host, validated on 60 fresh subnets; the figures
# replace the block in ofa_tf/latency/README.md. Variables: see the script (OUT, PROFILES, DEST).
latency-tables: setup
	tools/rebuild_latency_tables.sh
