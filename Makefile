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
export PYTENSOR_FLAGS := base_compiledir=$(CURDIR)/.cache/pytensor
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: install system-deps demo test test-slow test-all lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need: Chromium + a CJK font (report rendered in a real browser)
# and a Java runtime (Spark parity test). Installed only when missing; needs root.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi wqy || missing="$$missing fonts-wqy-microhei"; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

SM := $(BIN)/shopmind --workspace $(WORKSPACE)
# Runs a step only when it applies to the data (else prints one line saying why); a step that
# applies and fails stops the demo. Steps: src/shopmind/analytics/applicability.py.
STEP = $(BIN)/python scripts/demo_step.py $(WORKSPACE)
CAMPAIGN ?= email_campaign_1
BUDGET ?= 1000

demo: $(STAMP)
	@if [ -n "$(DATA)" ]; then \
	  $(SM) ingest "$(DATA)" --format $(FORMAT); \
	else \
	  $(SM) simulate --users $(USERS) --days $(DAYS) --seed $(SEED); \
	fi
	$(SM) info
	$(SM) analyze summary
	@$(STEP) funnel -- $(SM) analyze funnel --steps view,cart,purchase --window 1d
	@$(STEP) rfm -- $(SM) analyze rfm
	@$(STEP) clv -- $(SM) clv fit
	@$(STEP) profiles -- $(SM) analyze profiles
	@$(STEP) propensity -- $(SM) propensity train --target purchase --horizon 7d
	@$(STEP) abtest --campaign $(CAMPAIGN) -- $(SM) abtest analyze --campaign $(CAMPAIGN)
	@$(STEP) recommend -- $(SM) recommend train
	@$(STEP) recommend -- $(SM) recommend batch --k 10 --out $(WORKSPACE)/reports/recommendations.csv
	@$(STEP) campaign -- $(SM) campaign plan --budget $(BUDGET) --cost 1 --value 30 \
	  --out $(WORKSPACE)/reports/audience.csv
	$(SM) report
	@echo "demo workspace: $(WORKSPACE)/shopmind.duckdb; report: $(WORKSPACE)/reports/report.html"
	@key=$$($(SM) keys create --role admin --name demo-console --json | \
	  $(BIN)/python -c 'import json, sys; print(json.load(sys.stdin)["key"])') && \
	echo "" && \
	echo "web console: start it with   $(SM) serve" && \
	echo "             then open        http://127.0.0.1:8000/" && \
	echo "             sign in with this new admin key (shown only now; only its hash is stored):" && \
	echo "             $$key"

# `make test`: the fast tests (a few minutes); `make test-slow`: the slow and real-data ones;
# CI (.ci/run) runs both. `make test-all` runs everything in one pytest session.
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -m "not slow and not realdata"

test-slow: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -m "slow or realdata"

test-all: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/marketing.py
	$(BIN)/python benchmarks/recsys.py
	$(BIN)/python benchmarks/assistant.py
	$(BIN)/python benchmarks/serve.py --data ../shared/data/amazon_beauty/Beauty.txt

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
