# shopmind: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= workspace
DATA ?=
FORMAT ?= generic
USERS ?= 10000
DAYS ?= 90
SEED ?= 0

export OPENBLAS_NUM_THREADS ?= 1
export SHOPMIND_PROFILE ?= dev
export HF_HUB_OFFLINE := 1
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export XDG_CACHE_HOME := $(CURDIR)/.cache

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@if [ -n "$(DATA)" ]; then \
	  $(BIN)/shopmind --workspace $(WORKSPACE) ingest "$(DATA)" --format $(FORMAT); \
	else \
	  $(BIN)/shopmind --workspace $(WORKSPACE) simulate --users $(USERS) --days $(DAYS) --seed $(SEED); \
	fi
	$(BIN)/shopmind --workspace $(WORKSPACE) info
	@echo "demo workspace: $(WORKSPACE)/shopmind.duckdb  (try: $(BIN)/shopmind --workspace $(WORKSPACE) sql \"SELECT event_type, count(*) FROM events GROUP BY 1\")"

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
