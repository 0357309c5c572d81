#!/usr/bin/env bash
# One full run of the reference load with the stack in its envelope, profiled at the peak:
# py-spy samples api1 and the worker's busiest process, and the APIs' own metrics say how many
# messages carried the run's pessoas (read before the stack stops), beside cpu.json.
#
#   bench/profile.sh [load args...]                  e.g. bench/profile.sh --scale 2
#   PROFILE_AT=130 PROFILE_FOR=40 bench/profile.sh   when sampling starts (s into the load), how long
#
# Run it under the machine lock like any load (flock -x /tmp/pessoas-machine.lock ...). Writes
# into bench/results/profile-<time>/: the load's report, cpu.json, api1.txt and worker.txt
# (py-spy's raw samples), top.txt (python -m bench.profile top of both) and messages.txt.
# py-spy needs ptrace rights over the processes: root, or CAP_SYS_PTRACE.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-$ROOT/.venv/bin/python}
PYSPY=${PYSPY:-$ROOT/.venv/bin/py-spy}
AT=${PROFILE_AT:-130}
FOR=${PROFILE_FOR:-40}
OUT=bench/results/profile-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

stack_up=0
cleanup() {
  if [[ $stack_up == 1 ]]; then make --no-print-directory stack-down >/dev/null; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -f bench/data/payloads.jsonl ]] || "$PY" -m bench.generate
make --no-print-directory stack-reset
stack_up=1
ENVELOPE=1 make --no-print-directory stack
"$PY" -m bench.server_cpu record "$OUT/cpu.json" &
recorder=$!
"$PY" -m bench.load --out "$OUT" "$@" >"$OUT/load.log" 2>&1 &
load=$!

sleep "$AT"
# The worker's busiest process is dramatiq's worker process, not its main process.
worker=$(for pid in $(pgrep -f 'pessoas.entrypoints.worker'); do
  echo "$(awk '{print $14 + $15}' "/proc/$pid/stat") $pid"
done | sort -n | tail -1 | cut -d' ' -f2)
api1=$(pgrep -f 'pessoas serve .*api1' | head -1)
samplers=()
for target in "api1:$api1" "worker:$worker"; do
  "$PYSPY" record --rate 100 --duration "$FOR" --format raw --output "$OUT/${target%%:*}.txt" \
    --pid "${target#*:}" >/dev/null 2>&1 &
  samplers+=($!)
done

wait "$load" || echo "profile: the load tool failed (see $OUT/load.log)" >&2
wait "${samplers[@]}" || echo "profile: a py-spy sampler failed" >&2
kill -TERM "$recorder" && wait "$recorder"
# The APIs' metrics ports (deploy/local/stack.sh's PESSOAS_METRICS_PORTS: api1, api2, worker).
read -r api1_metrics api2_metrics _ <<<"${PESSOAS_METRICS_PORTS:-9101 9102 9103}"
"$PY" -m bench.profile messages "http://127.0.0.1:$api1_metrics/metrics" \
  "http://127.0.0.1:$api2_metrics/metrics" >"$OUT/messages.txt" ||
  echo "profile: the APIs' metrics could not be read (PESSOAS_METRICS=off?)" >&2
make --no-print-directory stack-down
stack_up=0
for name in api1 worker; do
  if [[ -s $OUT/$name.txt ]]; then "$PY" -m bench.profile top "$OUT/$name.txt"; fi
done >"$OUT/top.txt"
tail -3 "$OUT/load.log"
cat "$OUT/messages.txt"
echo "profile: $OUT (top.txt, cpu.json, report.md)"
