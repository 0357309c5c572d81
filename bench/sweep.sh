#!/usr/bin/env bash
# The capacity sweep (make bench SCALES=... CPUS=...): bench/run.sh once per combination of load
# scale and envelope, then one report of them all (bench/sweep.py: a table, a plot, the knee of
# each envelope).
#
#   SCALES="1 1.5 2" CPUS="1.5 0.75" bench/sweep.sh [load args...]    e.g. --time 0.2
#   RUNS=3 ...                                                          three runs of each
#
# SCALES multiplies every rate of the reference load (bench.load --scale); CPUS is the envelope's
# CPU quota (PESSOAS_ENVELOPE_CPUS). One missing defaults to the reference (scale 1, 1.5 CPUs).
# Round by round, each envelope from the lowest scale up. Results: bench/results/sweep-<time>/
# (cpus-C/scale-S[/run-N]/ for each run, report.md and sweep.png for the whole).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-$ROOT/.venv/bin/python}
SCALES=${SCALES:-1}
CPUS=${CPUS:-1.5}
RUNS=${RUNS:-1}
BASE=bench/results/sweep-$(date +%Y%m%d-%H%M%S)

number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]] && [[ ! $1 =~ ^0+([.]0+)?$ ]]; }
for value in $SCALES $CPUS; do
    number "$value" || { echo "sweep: SCALES and CPUS take positive numbers, not '$value'" >&2 && exit 2; }
done
for arg in "$@"; do
    case $arg in --scale | --scale=* | --out | --out=*)
        echo "sweep: $arg is the sweep's to set (SCALES; the directories are chosen here)" >&2 && exit 2 ;;
    esac
done
# Lowest scale first: a failing high scale does not leave a backlog in front of a low one.
read -ra scales <<<"$(printf '%s\n' $SCALES | sort -g | tr '\n' ' ')"
read -ra envelopes <<<"$CPUS"

runs=()
total=$((RUNS * ${#envelopes[@]} * ${#scales[@]})) n=0
for ((round = 1; round <= RUNS; round++)); do
    for cpus in "${envelopes[@]}"; do
        for scale in "${scales[@]}"; do
            n=$((n + 1))
            out=$BASE/cpus-$cpus/scale-$scale
            ((RUNS > 1)) && out=$out/run-$round
            echo "sweep: $n/$total: scale $scale, $cpus CPUs, run $round -> $out"
            if ! RUNS=1 BENCH_OUT=$out PESSOAS_ENVELOPE_CPUS=$cpus bench/run.sh --scale "$scale" "$@"; then
                echo "sweep: the run at scale $scale, $cpus CPUs failed: left out of the report" >&2
                continue
            fi
            printf '{"scale": %s, "cpus": %s, "run": %s}\n' "$scale" "$cpus" "$round" >"$out/point.json"
            runs+=("$out")
        done
    done
done
((${#runs[@]})) || { echo "sweep: no run finished" >&2 && exit 1; }
"$PY" -m bench.sweep --out "$BASE" "${runs[@]}" >/dev/null
echo "sweep: report: $BASE/report.md (plot: $BASE/sweep.png)"
