#!/usr/bin/env bash
# Side-by-side benchmark of several variants, interleaved so that the machine's noise falls on
# all of them alike: ROUNDS rounds, each running every variant once (bench/run.sh, one full run,
# under the machine lock), then one summary with medians per variant.
#
#   bench/ab.sh ROUNDS LABEL=CHECKOUT[:NAME=VALUE...] ... [-- bench.load args]
#
#   bench/ab.sh 3 before=/tmp/old after=. after-metrics-off=.:PESSOAS_METRICS=off
#
# CHECKOUT is a checkout with its own .venv (each variant runs its own code and stack); the
# NAME=VALUE pairs are set in that variant's environment. Results: bench/results/ab-<time>/LABEL/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
rounds=$1
shift
variants=()
while (($#)) && [[ $1 != -- ]]; do variants+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
OUT=$ROOT/bench/results/ab-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
declare -A runs
for ((round = 1; round <= rounds; round++)); do
  for variant in "${variants[@]}"; do
    label=${variant%%=*} spec=${variant#*=}
    checkout=${spec%%:*} settings=()
    [[ $spec == *:* ]] && IFS=: read -ra settings <<<"${spec#*:}"
    checkout=$(cd "$checkout" && pwd)
    echo "ab: round $round/$rounds: $label ($checkout ${settings[*]:-})"
    log=$OUT/$label-run$round.log
    flock -x /tmp/pessoas-machine.lock env "${settings[@]}" "$checkout/bench/run.sh" "$@" >"$log" 2>&1 ||
      { echo "ab: $label round $round failed (see $log)" >&2; continue; }
    report=$(sed -n 's/^bench: report: \(.*\)\/report.md$/\1/p' "$log" | tail -1)
    runs[$label]="${runs[$label]:-} $checkout/$report"
  done
done
for variant in "${variants[@]}"; do
  label=${variant%%=*}
  [[ -n ${runs[$label]:-} ]] || { echo "ab: $label: no run succeeded" >&2; continue; }
  # shellcheck disable=SC2086 # the run directories are space-separated paths without spaces
  "$ROOT/.venv/bin/python" -m bench.summary --out "$OUT/$label" ${runs[$label]} >/dev/null
  echo "ab: $label: $OUT/$label/summary.md"
done
