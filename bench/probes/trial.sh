#!/usr/bin/env bash
# One benchmark trial with the CPU of each process recorded: what docs/performance.md quotes.
#
#   bench/probes/trial.sh LABEL [bench.load args...]     e.g. bench/probes/trial.sh x2 --scale 2
#
# make bench's own sequence (stack-reset, ENVELOPE=1 make stack, the load from outside the
# envelope, stack-down) plus bench/probes/cpu_by_process.py every 3 s and the APIs' and worker's
# resident memory before the stack stops. Runs under the machine lock other heavy runs take.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
label=$1
shift
out=bench/results/trial-$label
rm -rf "$out"
mkdir -p "$out"
flock /tmp/pessoas-machine.lock bash -c "
make stack-reset >/dev/null 2>&1
ENVELOPE=1 make stack > $out/stack.log 2>&1 || { tail $out/stack.log; exit 1; }
.venv/bin/python -m bench.probes.cpu_by_process 3 200 > $out/cpu.log 2>&1 & sampler=\$!
.venv/bin/python -m bench.load --out $out --no-plots $* > $out/load.log 2>&1 || true
kill \$sampler || true
ps -eo rss,args | grep -E 'bin/pessoas (serve|worker)' | grep -v grep > $out/rss.txt || true
make stack-down >/dev/null 2>&1
"
.venv/bin/python -m bench.probes.trial_summary "$out" "$label"
