# menshen — the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2
BENCH_ARGS ?=

.PHONY: demo test lint bench bench-gateway bench-policy bench-monitor bench-segmentation system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/menshen demo

system-deps:
	scripts/ensure-system-deps.sh test

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) system-deps lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

bench: bench-gateway bench-policy bench-monitor bench-segmentation

bench-gateway: $(STAMP)
	scripts/ensure-system-deps.sh bench
	$(BIN)/python -m bench.gateway $(BENCH_ARGS)

bench-policy: $(STAMP)
	$(BIN)/python -m bench.policy $(BENCH_ARGS)

bench-monitor: $(STAMP)
	$(BIN)/python -m bench.monitor $(BENCH_ARGS)

bench-segmentation: $(STAMP)
	$(BIN)/python -m bench.segmentation

clean:
	rm -rf $(VENV) .menshen-demo bench/out .mypy_cache .ruff_cache
