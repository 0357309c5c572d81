# The project's commands. Everything runs from a local virtual environment that each target
# fills, from the lock in requirements/, with the install set it needs: `make run` only what
# serving needs, the test targets the dev set, `make stack` the supervisor, `make bench` the load
# tool. A fresh machine needs only Python 3.11 and make (uv is installed from requirements/tools.txt).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .venv-tools
UV     := $(TOOLS)/bin/uv
LOCK   := requirements/lock.py

# uv uses the interpreter named above and never downloads one.
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test unit integration check lock-check lint typecheck layers private-access lock lock-upgrade \
	stack stack-down stack-reset bench bench-embedded faults mutation clean cluster cluster-down cluster-status cluster-faults

$(UV): requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes -r requirements/tools.txt
	touch $@

# .venv/.set-NAME: the install set requirements/NAME.txt is in the venv (sets add up: `make run`
# after `make test` removes nothing). Refuses a lock older than pyproject.toml's dependencies.
$(VENV)/.set-%: requirements/%.txt pyproject.toml | $(UV)
	@$(PYTHON) $(LOCK) check
	test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $<
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

## run: serve the API on 127.0.0.1:9999 (PESSOAS_HOST to change); pessoas kept in data/pessoas.sqlite3
## unless PESSOAS_* settings name other storage
run: $(VENV)/.set-base
	$(BIN)/pessoas serve

## test: the lock, lint, types, import layers; then a short fault smoke on the stack, alone (it takes the
## machine lock itself); the tests that count on PostgreSQL's transaction horizon, alone too (another
## process's open transaction holds it back); then every other suite over TEST_WORKERS processes
## (integration needs the local services), and branch coverage: domain/ and application/ must stay at
## 100% of their branches.
## Most tests wait on processes and sockets rather than compute, so more workers than cores pay off.
COVERED_FULLY := src/pessoas/domain/*,src/pessoas/application/*
TEST_WORKERS ?= 3

test: check
	$(BIN)/pytest -m fault_smoke tests/faults
	$(BIN)/pytest -m pg_horizon --cov --cov-report=
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not faults and not fault_smoke and not pg_horizon" --durations=15 \
		--cov --cov-append --cov-report=term
	$(BIN)/coverage report --include='$(COVERED_FULLY)' --fail-under=100

## mutation: mutmut over domain/, application/ and the PostgreSQL adapter's query building; fails on a
## surviving mutant not in tests/mutation/allowlist.toml. One module: make mutation MUTANTS='pessoas.domain.model.*'
## (heavy CPU: run it as flock -s /tmp/pessoas-machine.lock make mutation)
MUTANTS ?=

mutation: $(VENV)/.set-dev
	rm -rf mutants
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run $(MUTANTS)
	$(BIN)/python -m tests.mutation.check_survivors $(MUTANTS)

unit: $(VENV)/.set-dev
	$(BIN)/pytest tests/unit

integration: $(VENV)/.set-dev
	$(BIN)/pytest tests/integration

check: lock-check lint typecheck layers private-access

## private-access: fails on a private attribute of another library's object in src/ (tools/private_access.py;
## exceptions, each with its reason, in tools/private_access_allowlist.toml)
private-access: $(VENV)/.set-dev
	$(BIN)/python tools/private_access.py src

## lock-check: fails, saying to run `make lock`, when pyproject.toml's dependencies changed since the lock
lock-check:
	@$(PYTHON) $(LOCK) check && echo "lock: requirements/ matches pyproject.toml"

lint: $(VENV)/.set-dev
	$(BIN)/ruff check src tests bench requirements deploy tools
	$(BIN)/ruff format --check src tests bench requirements deploy tools

typecheck: $(VENV)/.set-dev
	$(BIN)/mypy

layers: $(VENV)/.set-dev
	$(BIN)/lint-imports

## lock: compile requirements/*.txt from pyproject.toml, moving only what pyproject.toml asks to move
lock: $(UV)
	UV=$(UV) $(PYTHON) $(LOCK) compile

## lock-upgrade: the same, with every dependency at its newest version pyproject.toml allows
lock-upgrade: $(UV)
	UV=$(UV) $(PYTHON) $(LOCK) compile --upgrade

## stack: nginx on :9999, two API instances, the worker and the stack's PostgreSQL (5433), all under
## supervisord, on the machine's Redis and RabbitMQ (deploy/local/stack.sh)
stack: $(VENV)/.set-stack
	deploy/local/stack.sh up

stack-down:
	deploy/local/stack.sh down

## stack-reset: delete the stack's own data (its table's rows, its Redis keys, its queues' messages)
stack-reset: $(VENV)/.set-base
	deploy/local/stack.sh reset

## bench: the reference load against the stack inside a 1.5-CPU envelope; writes a report.
## A capacity sweep: make bench SCALES="1 1.5 2" CPUS="1.5 0.75" [RUNS=n] runs every combination of
## load scale and envelope and writes one report with the knee of each envelope (bench/sweep.sh).
## BENCH_ARGS go to bench.load as they are, e.g. BENCH_ARGS="--time 0.2" for a short smoke.
SCALES ?=
CPUS ?=
BENCH_ARGS ?=

bench: $(VENV)/.set-bench
ifeq ($(strip $(SCALES)$(CPUS)),)
	bench/run.sh $(BENCH_ARGS)
else
	SCALES="$(SCALES)" CPUS="$(CPUS)" bench/sweep.sh $(BENCH_ARGS)
endif

## bench-embedded: the same load against `pessoas serve` alone (embedded SQLite) in the envelope
bench-embedded: $(VENV)/.set-bench $(VENV)/.set-stack
	TARGET=embedded bench/run.sh

## faults: kill and restart each part of the stack under load and audit every 201
faults: $(VENV)/.set-dev
	$(BIN)/pytest -m faults tests/faults

## cluster: three RabbitMQ nodes, Redis primary + replica + Sentinels, PostgreSQL under Patroni (a primary
## and a synchronous standby, etcd), three APIs and two workers behind nginx on :9999, all under run/cluster/
## (deploy/cluster/cluster.sh; every process of it under one supervisord). The machine is
## shared: flock -x /tmp/pessoas-machine.lock make cluster, and make cluster-down when done.
cluster: $(VENV)/.set-stack
	deploy/cluster/cluster.sh up

## cluster-down: stop exactly what make cluster started (and any partition rule left), delete run/cluster/
cluster-down:
	deploy/cluster/cluster.sh down

cluster-status:
	deploy/cluster/cluster.sh status

## cluster-faults: under load, with the exact audit of make faults: kill -9 of a RabbitMQ node, the queue
## purged, kill -9 of the Redis primary (also after FLUSHALL), the PostgreSQL standby stopped, kill -9 of the
## PostgreSQL primary and its node partitioned (failovers), an API and a worker killed, an API frozen.
## Brings the cluster up and down; takes the machine lock itself when no parent holds it.
cluster-faults: $(VENV)/.set-dev $(VENV)/.set-stack
	$(BIN)/pytest -m faults tests/cluster_faults

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
