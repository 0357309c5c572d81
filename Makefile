# The project's commands. Everything runs from a local virtual environment that the first
# target needing it builds from pyproject.toml, so a fresh machine needs only Python 3.11 and make.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit integration check lint typecheck layers stack stack-down stack-reset bench bench-embedded faults clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

## run: serve the API on :9999 (embedded SQLite default, data/pessoas.sqlite3, unless PESSOAS_* settings say otherwise)
run: $(STAMP)
	$(BIN)/pessoas serve

## test: lint, types, import layers, then every test suite (integration needs the local services)
test: check
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

check: lint typecheck layers

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

## stack: nginx on :9999, two API instances and the worker on the local services, in the background
stack: $(STAMP)
	deploy/local/stack.sh up

stack-down:
	deploy/local/stack.sh down

## stack-reset: empty the stack's data (rows, Redis keys, queues)
stack-reset: $(STAMP)
	deploy/local/stack.sh reset

## bench: the reference load against the stack inside a 1.5-CPU envelope; writes a report
bench: $(STAMP)
	bench/run.sh

## bench-embedded: the same load against `pessoas serve` alone (embedded SQLite) in the envelope
bench-embedded: $(STAMP)
	TARGET=embedded bench/run.sh

## faults: kill and restart each part of the stack under load and audit every 201
faults: $(STAMP)
	$(BIN)/pytest -m faults tests/faults

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
