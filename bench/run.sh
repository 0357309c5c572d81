#!/usr/bin/env bash
# The `make bench` driver: the reference load against the local stack in its 1.5-CPU envelope.
#
#   bench/run.sh [load args...]          e.g. bench/run.sh --scale 2   or   --connections pool
#   RUNS=3 bench/run.sh                  three full runs and a summary with medians
#   TARGET=embedded bench/run.sh         `pessoas serve` alone (embedded SQLite) is the server side
#                                        (make bench-embedded; RUNS works the same)
#   PESSOAS_ENVELOPE_CPUS=0.75 bench/run.sh
#                                        another envelope (deploy/local/stack.sh's knob)
#   SCALES="1 2" CPUS="1.5 0.75" bench/sweep.sh
#                                        a capacity sweep over those (make bench SCALES=... CPUS=...)
#
# Each run: empty the stack's data, start the stack with ENVELOPE=1 (server side in the
# cgroup), run bench.load from this shell, i.e. outside the envelope, so the generator never
# competes for the server's 1.5 CPUs, then stop the stack. The stack is stopped on failure and
# on Ctrl-C too. bench/server_cpu.py records the CPU of each server component over the load
# (cpu.json beside the report). Reports go to bench/results/<timestamp>/ (run-N/ subdirectories when RUNS > 1);
# the directory is chosen here, so do not pass --out.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-$ROOT/.venv/bin/python}
RUNS=${RUNS:-1}
TARGET=${TARGET:-stack}
case $TARGET in
    stack) reset=(make --no-print-directory stack-reset) up=(make --no-print-directory stack) ;;
    embedded) reset=(deploy/local/stack.sh reset-embedded) up=(deploy/local/stack.sh up-embedded) ;;
    *) echo "bench: TARGET must be stack or embedded, not '$TARGET'" >&2 && exit 2 ;;
esac
# BENCH_OUT: the report directory (bench/sweep.sh chooses it); a new timestamped one by default.
BASE=${BENCH_OUT:-bench/results/$(date +%Y%m%d-%H%M%S)}

stack_up=0
recorder=
# Stops the CPU recorder if one runs; fails when it did not end cleanly.
stop_recorder() {
    local pid=$recorder
    recorder=
    [[ -z $pid ]] || { kill -TERM "$pid" && wait "$pid"; }
}
cleanup() {
    # An interrupted run's recorder would live on, holding the machine lock it inherited.
    stop_recorder 2>/dev/null || true
    if [[ $stack_up == 1 ]]; then
        make --no-print-directory stack-down || echo "bench: make stack-down failed" >&2
    fi
}
trap cleanup EXIT
# Turn signals into an ordinary exit so the EXIT trap always stops the stack.
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -f bench/data/payloads.jsonl || ! -f bench/data/terms.txt ]]; then
    "$PY" -m bench.generate
fi

outs=()
for ((i = 1; i <= RUNS; i++)); do
    out=$BASE
    ((RUNS > 1)) && out=$BASE/run-$i
    echo "bench: run $i/$RUNS ($TARGET) -> $out"
    "${reset[@]}"
    stack_up=1 # set before `up`, so a half-started stack is stopped too
    ENVELOPE=1 "${up[@]}"
    mkdir -p "$out"
    # Per-component CPU over the load alone (bench/server_cpu.py), stopped as soon as it ends.
    "$PY" -m bench.server_cpu record "$out/cpu.json" &
    recorder=$!
    "$PY" -m bench.load --out "$out" "$@"
    stop_recorder || echo "bench: the CPU recorder failed" >&2
    make --no-print-directory stack-down
    stack_up=0
    outs+=("$out")
done

if ((RUNS > 1)); then
    "$PY" -m bench.summary --out "$BASE" "${outs[@]}"
    echo "bench: summary of $RUNS runs: $BASE/summary.md"
else
    echo "bench: report: $BASE/report.md"
fi
