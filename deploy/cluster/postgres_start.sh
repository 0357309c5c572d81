#!/usr/bin/env bash
# Patroni's `postgres` in the cluster: cluster.sh gives Patroni a bin_dir of its own
# (run/cluster/pg/bin: links to PostgreSQL's programs, and for `postgres` a two-line script that
# runs this one with the real binary first). Before a postmaster, or Patroni's single-user crash
# recovery, starts on a data directory, it kills whatever a previous postmaster of that directory
# left running there; then it execs the real postgres (same pid, same arguments).
#
#   postgres_start.sh REAL_POSTGRES ARGS...
#
# Why: a postmaster killed outright (kill -9, as the fault suite does, or the OOM killer) cannot
# tell its children to stop. Each is meant to notice on its own and exit, but PostgreSQL's
# documentation warns that after SIGKILL "it might be necessary to kill the individual
# subprocesses by hand as well" (Server Shutdown). One child still attached to the old shared
# memory makes every new start fail ("pre-existing shared memory block ... is still in use"): the
# old primary could then never come back as a standby. A container runtime or systemd would kill
# them with the instance's cgroup; here this does it, and only to processes whose working
# directory is this very data directory (a postgres process works in its data directory), and
# only while no postmaster of that directory is alive.
set -u

real=$1
shift

data=""
previous=""
for arg in "$@"; do
  if [ "$previous" = "-D" ]; then data=$arg; fi
  case $arg in
    --pgdata=*) data=${arg#--pgdata=} ;;
    -D?*) data=${arg#-D} ;;
  esac
  previous=$arg
done

alive_in() { # PID DIR: PID runs (not a zombie) with DIR as its working directory
  [ -n "$1" ] && [ "$(readlink "/proc/$1/cwd" 2>/dev/null)" = "$2" ] &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
left_behind() { # DIR: the processes working in DIR, but this one
  local proc pid
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [ "$pid" != "$$" ] || continue
    alive_in "$pid" "$1" && echo "$pid"
  done
  return 0
}

if [ -n "$data" ] && [ -d "$data" ]; then
  data=$(cd "$data" && pwd -P)
  postmaster=$(head -n 1 "$data/postmaster.pid" 2>/dev/null | tr -dc '0-9')
  # A live postmaster of this directory: touch nothing (the new postgres refuses to start anyway).
  if ! alive_in "$postmaster" "$data"; then
    pids=$(left_behind "$data")
    if [ -n "$pids" ]; then
      for pid in $pids; do
        echo "postgres_start: killing pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)), left in $data by a postmaster that is gone" >&2
        kill -KILL "$pid" 2>/dev/null || true
      done
      # Gone, and so detached from the old shared memory, before the new postmaster looks at it.
      for _ in $(seq 1 50); do
        [ -z "$(left_behind "$data")" ] && break
        sleep 0.1
      done
    fi
  fi
fi

exec "$real" "$@"
