# tfgen developer tasks. `make` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The offline provider mirror, when the machine has one (see DEVELOPERS.md).
TFGEN_PLUGIN_MIRROR ?= $(shell .ci/find-mirror)
export TFGEN_PLUGIN_MIRROR

.PHONY: help install test test-fast lint format render goldens demo bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install tfgen with its test extras

# Checkov pins older boto3/packaging than tfgen uses: it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
export TFGEN_CHECKOV := $(CURDIR)/$(CHECKOV)
$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.3,<4'

lint: $(STAMP) ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check tfgen tests bench
	$(BIN)/ruff format --check tfgen tests bench
	$(BIN)/mypy

format: $(STAMP) ## Apply ruff's formatting and fixes
	$(BIN)/ruff format tfgen tests bench
	$(BIN)/ruff check --fix tfgen tests bench

test: lint $(CHECKOV) ## Lint, then run every test (terraform, emulator, PostgreSQL and Checkov ones included)
	$(BIN)/pytest --durations=25

# The tests that start no terraform, emulator, PostgreSQL or Checkov (tests/conftest.py), with
# hypothesis's quick profile; under a minute (DEVELOPERS.md).
FAST_TIER := not terraform and not emulator and not postgres and not checkov
test-fast: $(STAMP) ## The fast tier: every test that starts no terraform, emulator, PostgreSQL or Checkov
	$(BIN)/pytest -m "$(FAST_TIER)" --hypothesis-profile=quick

render: $(STAMP) ## Re-render modules/aurora_serverless/ from examples/aurora.yaml
	$(BIN)/tfgen render examples/aurora.yaml -o modules/aurora_serverless --force

goldens: render ## Re-render every golden file (tests/golden/) and the committed module
	$(BIN)/python -m tests.regen_goldens

# With the PostgreSQL server installed the emulator's cluster is a real database: doctor connects,
# a table is created and backed up. Without it, doctor says why the connection is not checked.
DEMO := examples/local.yaml --local --workdir .tfgen/demo
demo: $(STAMP) ## The main job end to end on the local AWS emulator: render, apply, output, doctor, backup, destroy
	@set -e; \
	trap '$(BIN)/tfgen emulator stop' EXIT; \
	$(BIN)/tfgen emulator start; \
	$(BIN)/tfgen render examples/local.yaml -o .tfgen/demo-module --force; \
	$(BIN)/tfgen apply $(DEMO) --auto-approve; \
	$(BIN)/tfgen output $(DEMO); \
	$(BIN)/tfgen doctor $(DEMO); \
	table=0; $(BIN)/tfgen output $(DEMO) --json | $(BIN)/python .ci/demo-table || table=$$?; \
	if [ $$table = 0 ]; then \
	  $(BIN)/tfgen backup $(DEMO) --table demo_orders --out .tfgen/demo_orders.csv; \
	  cat .tfgen/demo_orders.csv; \
	elif [ $$table != 3 ]; then exit $$table; fi; \
	$(BIN)/tfgen destroy $(DEMO) --auto-approve

bench: $(STAMP) ## Run the benchmarks and write BENCHMARKS.md
	$(BIN)/python bench/run.py

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) $(CHECKOV_VENV) .tfgen .pytest_cache .mypy_cache .ruff_cache
