# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench bench-quick bench-check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[plot]'
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python -m router demo

lint: $(STAMP)
	$(BIN)/ruff check router bench tests examples
	$(BIN)/ruff format --check router bench tests examples

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench --json out/bench.json --chart docs/img

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick --json out/bench-quick.json

bench-check: $(STAMP)
	$(BIN)/python -m bench --quick --check bench/baseline.json --json out/bench-quick.json

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
