# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench bench-quick bench-smoke bench-check clean

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

# the full report and chart, then the pytest-benchmark micro cases timed
bench: $(STAMP)
	$(BIN)/python -m bench --json out/bench.json --chart docs/img
	$(BIN)/pytest bench --benchmark-only

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick --json out/bench-quick.json

# the micro cases once each, untimed (addopts carry --benchmark-disable): a smoke test
bench-smoke: $(STAMP)
	$(BIN)/pytest bench -p no:cacheprovider

# the regression guard: this tree against the accepted commit, interleaved (BENCHMARKS.md)
bench-check: $(STAMP)
	$(BIN)/python -m bench.guard --json out/bench-guard.json

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
