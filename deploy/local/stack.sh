#!/usr/bin/env bash
# The compose topology without Docker: nginx on :9999 in front of two API instances (round-robin)
# and the worker, on a PostgreSQL 15 cluster of the stack's own (run/postgres/, port 5433, compose's
# settings from deploy/local/postgres.conf) and this machine's Redis and RabbitMQ. nginx, the APIs,
# the worker and that PostgreSQL are the programs of one supervisord (deploy/local/supervisord.conf.in
# and program.conf.in, rendered into run/supervisord.conf: it restarts whatever dies and stops them
# in order); this script renders it, starts each program with supervisorctl once what it needs
# answers, and waits for the stack's health. Everything it writes is under run/. The machine's
# default PostgreSQL cluster (5432) is never used nor touched.
# Redis is used as it runs (the stack sets none of its configuration: other users share it); the
# service needs it only as a cache, so it may be empty, restarted or evicting at any moment.
#
#   deploy/local/stack.sh up       start the stack; returns once :9999/health answers
#   ENVELOPE=1 deploy/local/stack.sh up
#                                  the same, with the whole server side (nginx, APIs, worker,
#                                  PostgreSQL, Redis, RabbitMQ) in cgroups: 1.5 CPUs, 3 GB
#   deploy/local/stack.sh up-embedded
#                                  `pessoas serve` alone on :9999 with its embedded SQLite storage
#                                  (run/embedded/pessoas.sqlite3), under supervisord: no nginx, no
#                                  services; with ENVELOPE=1 that one process is the whole server side
#   deploy/local/stack.sh reset-embedded
#                                  delete that SQLite file (and its WAL)
#   deploy/local/stack.sh down     stop what `up` or `up-embedded` started (never the system services),
#                                  the stack's PostgreSQL included (its data stays in run/postgres/),
#                                  and undo the envelope
#   deploy/local/stack.sh pg-start / pg-stop
#                                  start (initdb the first time; supervisord too when it is not
#                                  running) / stop the stack's PostgreSQL alone (supervisorctl)
#   deploy/local/stack.sh redis-stop / redis-start / rabbitmq-stop / rabbitmq-start
#                                  stop / start the machine's Redis or RabbitMQ (the fault suite);
#                                  Redis comes back empty, with the memory bound it had
#   deploy/local/stack.sh reset    delete the stack's own data: the rows of the pessoas and
#                                  pessoas_search tables, the Redis keys under PESSOAS_REDIS_PREFIX,
#                                  the messages of its queues
#   deploy/local/stack.sh status   what runs, what answers, the envelope
#   deploy/local/stack.sh render-nginx DIR
#                                  write the local nginx config into DIR (tests run nginx -t on it)
#   deploy/local/stack.sh render-targets FILE
#                                  write the Prometheus scrape targets (`up` writes
#                                  run/prometheus-targets.json)
#   deploy/local/stack.sh render-supervisor DIR
#                                  write DIR/supervisord.conf, with DIR in run/'s place (tests run it)
#   deploy/local/stack.sh ctl ARGS...
#                                  supervisorctl on the stack's supervisord (status, restart api1...)
#
# Knobs (environment, with defaults):
#   PESSOAS_STACK_PG_PORT 5433: the stack's PostgreSQL (on 127.0.0.1, socket in run/postgres/);
#                         PESSOAS_DATABASE_URL is always postgresql://pessoas@127.0.0.1:PORT/pessoas
#   PESSOAS_PG_BIN        /usr/lib/postgresql/15/bin (initdb, pg_ctl, postgres)
#   PESSOAS_REDIS_URL     redis://127.0.0.1:6379/0
#   PESSOAS_AMQP_URL      amqp://guest:guest@127.0.0.1:5672/%2F
#   PESSOAS_UPSTREAM      uds (unix sockets run/api1.sock, run/api2.sock) or tcp (ports below)
#   PESSOAS_API_PORTS     "9001 9002" (with PESSOAS_UPSTREAM=tcp, on 127.0.0.1)
#   PESSOAS_WORKER_ARGS   extra arguments of `pessoas worker`, e.g. "--processes 1 --threads 2"
#   PESSOAS_METRICS_PORTS "9101 9102 9103": the metrics ports of api1, api2 and the worker (on
#                         127.0.0.1; never through :9999), listed in run/prometheus-targets.json.
#                         One port serves all the worker's processes.
#   PESSOAS_METRICS       on; off collects and serves no metrics (PESSOAS_ACCESS_LOG=on adds an
#                         access log): both reach the API instances and the worker as they are
#   PESSOAS_UP_TIMEOUT    60 (seconds `up` waits for health)
#   PESSOAS_UP_READY_TIMEOUT 30 (seconds `up` then waits for both instances' /ready)
#   PESSOAS_STOP_TIMEOUT  30 (seconds a program has to stop after SIGTERM before SIGKILL)
#   PESSOAS_EXECUTABLE    .venv/bin/pessoas (what the programs run; tests put a stand-in here)
#   ENVELOPE              0; 1 puts the server side in the cgroups below (with `up`)
#   PESSOAS_ENVELOPE_CPUS 1.5    PESSOAS_ENVELOPE_MEMORY 3G    PESSOAS_CGROUP pessoas
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# The stack's own cluster, whatever the caller's environment says: a benchmark must never land on
# the machine's default cluster (untuned, shared with the tests) by accident.
: "${PESSOAS_STACK_PG_PORT:=5433}"
PESSOAS_DATABASE_URL=postgresql://pessoas@127.0.0.1:$PESSOAS_STACK_PG_PORT/pessoas
# shellcheck source=deploy/local/lib.sh
source deploy/local/lib.sh
export PESSOAS_DATABASE_URL PESSOAS_REDIS_URL PESSOAS_AMQP_URL # for migrate, serve and worker

RUN=$ROOT/run
LOGS=$RUN/logs
NGINX_DIR=$RUN/nginx
SUPERVISOR_CONF=$RUN/supervisord.conf
SUPERVISOR_PID=$RUN/supervisord.pid
PESSOAS=${PESSOAS_EXECUTABLE:-$ROOT/.venv/bin/pessoas}
PYTHON=$ROOT/.venv/bin/python
SUPERVISORD=$ROOT/.venv/bin/supervisord
SUPERVISORCTL=$ROOT/.venv/bin/supervisorctl
PROGRAMS=(api1 api2 worker)
# Set in the environment of supervisord and so of every process it starts, whatever they exec or
# fork: `down` finds this run's processes by it when supervisord itself was killed outright.
STACK_MARK=PESSOAS_STACK_RUN_DIR=$RUN

: "${PESSOAS_UPSTREAM:=uds}"
: "${PESSOAS_API_PORTS:=9001 9002}"
: "${PESSOAS_WORKER_ARGS:=}"
: "${PESSOAS_UP_TIMEOUT:=60}"
: "${PESSOAS_UP_READY_TIMEOUT:=30}"
: "${PESSOAS_STOP_TIMEOUT:=30}"
: "${ENVELOPE:=0}"
: "${PESSOAS_ENVELOPE_CPUS:=1.5}"
: "${PESSOAS_ENVELOPE_MEMORY:=3G}"
: "${PESSOAS_CGROUP:=pessoas}"
: "${PESSOAS_METRICS_PORTS:=9101 9102 9103}"
read -r API1_PORT API2_PORT <<<"$PESSOAS_API_PORTS"
read -r API1_METRICS_PORT API2_METRICS_PORT WORKER_METRICS_PORT <<<"$PESSOAS_METRICS_PORTS"
CGROUP_CONTROLLERS=(cpu cpuacct memory)
CG=/sys/fs/cgroup

# --- nginx -------------------------------------------------------------------------------------

api_listen_args() { # N [RUN_DIR] -> the `pessoas serve` arguments of instance N
  if [ "$PESSOAS_UPSTREAM" = uds ]; then
    echo "--uds ${2:-$RUN}/api$1.sock"
  else
    local port=API$1_PORT
    echo "--host 127.0.0.1 --port ${!port}"
  fi
}

render_nginx() { # DIR: nginx.conf (a link to the shared one) and upstream-servers.conf
  local dir=$1
  mkdir -p "$dir"
  ln -sfn "$ROOT/deploy/nginx/nginx.conf" "$dir/nginx.conf"
  {
    echo "# Written by deploy/local/stack.sh (PESSOAS_UPSTREAM=$PESSOAS_UPSTREAM): the local instances."
    if [ "$PESSOAS_UPSTREAM" = uds ]; then
      echo "server unix:$RUN/api1.sock max_fails=3 fail_timeout=2s;"
      echo "server unix:$RUN/api2.sock max_fails=3 fail_timeout=2s;"
    elif [ "$PESSOAS_UPSTREAM" = tcp ]; then
      echo "server 127.0.0.1:$API1_PORT max_fails=3 fail_timeout=2s;"
      echo "server 127.0.0.1:$API2_PORT max_fails=3 fail_timeout=2s;"
    else
      die "PESSOAS_UPSTREAM must be uds or tcp, not '$PESSOAS_UPSTREAM'"
    fi
  } >"$dir/upstream-servers.conf"
}

nginx_command() { # [-t]: the command line of the local nginx, in the foreground (supervisord's program)
  local globals="daemon off; pid $NGINX_DIR/nginx.pid;"
  # Without `user`, workers started by root run as nobody, who cannot reach run/*.sock.
  [ "$(id -u)" = 0 ] && globals="$globals user root;"
  echo "$(command -v nginx) -p $NGINX_DIR/ -c $NGINX_DIR/nginx.conf -e $LOGS/nginx-error.log -g \"$globals\" $*"
}

# --- metrics -------------------------------------------------------------------------------------

write_prometheus_targets() { # FILE: Prometheus file_sd targets: each API, and the worker command
  # (one port serves all the worker's processes)
  python3 - "$1" "$API1_METRICS_PORT" "$API2_METRICS_PORT" "$WORKER_METRICS_PORT" <<'PY'
import json, sys
path, api1, api2, worker = sys.argv[1:]
groups = [
    {"targets": [f"127.0.0.1:{api1}"], "labels": {"job": "pessoas-api", "instance_name": "api1"}},
    {"targets": [f"127.0.0.1:{api2}"], "labels": {"job": "pessoas-api", "instance_name": "api2"}},
    {"targets": [f"127.0.0.1:{worker}"], "labels": {"job": "pessoas-worker", "instance_name": "worker"}},
]
with open(path, "w") as out:
    json.dump(groups, out, indent=2)
    out.write("\n")
PY
}

# --- the stack's PostgreSQL --------------------------------------------------------------------
# A cluster of its own under run/postgres/ (data/, the socket, nothing else), with compose's
# settings: the benchmark measures the tuned server compose deploys, and the machine's default
# cluster (which the tests and CI use) is left alone. Its data stays between `down` and `up`, as
# compose's named volume does; `reset` empties the table. supervisord runs its postmaster (as the
# postgres user when root: initdb and postgres refuse root).

PG_BIN=${PESSOAS_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=$RUN/postgres
PG_DATA=$PG_DIR/data
PG_PORT=$PESSOAS_STACK_PG_PORT
# Its process titles read "postgres: pessoas-stack: ...": bench/server_cpu.py counts exactly those
# (and the postmaster by its data directory, run/postgres/data).
PG_CLUSTER_NAME=pessoas-stack
PG_OWNER=$([ "$(id -u)" = 0 ] && echo postgres || id -un)

as_pg_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stack_pg_up() { "$PG_BIN/pg_isready" -q -t 2 -h 127.0.0.1 -p "$PG_PORT"; }

stack_pg_prepare() { # one-time set-up: the cluster made once, the settings refreshed at each start
  [ -x "$PG_BIN/initdb" ] || apt_install postgresql-15
  mkdir -p "$PG_DIR" "$LOGS"
  if [ "$(id -u)" = 0 ]; then
    chmod 711 "$ROOT/run" # the postgres user must reach run/postgres/ (and nothing else in run/)
    chown postgres: "$PG_DIR"
  fi
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    log "initdb: the stack's PostgreSQL cluster in ${PG_DATA#"$ROOT"/}"
    as_pg_owner "$PG_BIN/initdb" -D "$PG_DATA" -U pessoas --auth=trust -E UTF8 --locale=C.UTF-8 \
      </dev/null >>"$LOGS/postgres.log" 2>&1 || { tail -n 20 "$LOGS/postgres.log" >&2; die "initdb failed (log: run/logs/postgres.log)"; }
    {
      echo "# deploy/local/stack.sh: compose's settings, then what only the local cluster needs"
      echo "include 'compose-settings.conf'"
      echo "include 'local.conf'"
    } | as_pg_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null
  fi
  as_pg_owner tee "$PG_DATA/compose-settings.conf" <"$ROOT/deploy/local/postgres.conf" >/dev/null
  as_pg_owner tee "$PG_DATA/local.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
cluster_name = '$PG_CLUSTER_NAME'
CONF
}

stack_pg_start() { # supervisord's postgres program (supervisord first, when it is not running)
  if stack_pg_up; then return 0; fi
  if ss -Hltn "sport = :$PG_PORT" | grep -q .; then
    die "port $PG_PORT is taken by another process: PESSOAS_STACK_PG_PORT to choose another"
  fi
  stack_pg_prepare
  running_supervisor >/dev/null || { render_supervisor "$RUN" && supervisor_start_here; }
  log "starting the stack's PostgreSQL on 127.0.0.1:$PG_PORT (${PG_DATA#"$ROOT"/})"
  supervisorctl start postgres >/dev/null ||
    { tail -n 20 "$LOGS/postgres.log" >&2; die "the stack's PostgreSQL did not start (log: run/logs/postgres.log)"; }
  wait_for "the stack's PostgreSQL" 60 stack_pg_up || die "the stack's PostgreSQL does not answer on $PG_PORT"
  if [ -z "$(psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'pessoas'" </dev/null)" ]; then
    psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE pessoas" </dev/null || die "cannot create database pessoas"
  fi
}

stack_pg_stop() { # its fast shutdown (SIGINT), through supervisord
  running_supervisor >/dev/null || return 0
  log "stopping the stack's PostgreSQL (fast shutdown)"
  supervisorctl stop postgres >/dev/null || log "supervisorctl stop postgres failed (log: run/logs/postgres.log)"
}

# --- supervisord -------------------------------------------------------------------------------

program_command() { # NAME [RUN_DIR] -> its command line
  case $1 in
    api1 | api2)
      local metrics_port=API${1#api}_METRICS_PORT
      echo "$PESSOAS serve $(api_listen_args "${1#api}" "${2:-$RUN}") --metrics-port ${!metrics_port}"
      ;;
    worker) echo "$PESSOAS worker $PESSOAS_WORKER_ARGS --metrics-port $WORKER_METRICS_PORT" ;;
    # Only PESSOAS_SQLITE_PATH: the URLs this script exports for the full stack must not reach it.
    embedded)
      echo "env -u PESSOAS_DATABASE_URL -u PESSOAS_REDIS_URL -u PESSOAS_AMQP_URL PESSOAS_STORAGE=sqlite" \
        "PESSOAS_SQLITE_PATH=$EMBEDDED_DB $PESSOAS serve --host 127.0.0.1 --port 9999"
      ;;
  esac
}

render_supervisor() { # DIR: DIR/supervisord.conf, with DIR as the run directory (logs in DIR/logs)
  local dir=$1 name LOGS=$1/logs
  mkdir -p "$LOGS"
  {
    fill "$ROOT/deploy/local/supervisord.conf.in" RUN="$dir" LOGS="$LOGS" ROOT="$ROOT" \
      PROGRAMS="$(IFS=,; echo "${PROGRAMS[*]}")"
    for name in "${PROGRAMS[@]}"; do
      program "$name" "$(program_command "$name" "$dir")" STOP_TIMEOUT="$PESSOAS_STOP_TIMEOUT"
    done
    if [ "${PROGRAMS[*]}" != embedded ]; then
      # Started first, stopped last: the worker, stopped before it, may commit a batch on its way out.
      program postgres "$PG_BIN/postgres -D $PG_DATA" USER="$PG_OWNER" PRIORITY=100 STOPSIGNAL=INT \
        STOP_TIMEOUT=60
      # Started last, once the instances answer; stopped first (graceful quit).
      program nginx "$(nginx_command)" PRIORITY=300 STOPSIGNAL=QUIT STOP_TIMEOUT="$PESSOAS_STOP_TIMEOUT"
    fi
  } >"$dir/supervisord.conf"
}

supervisorctl() { "$SUPERVISORCTL" -c "$SUPERVISOR_CONF" "$@"; }
running_supervisor() { local pid; pid=$(pid_of "$SUPERVISOR_PID"); alive "$pid" && echo "$pid"; }

# With ENVELOPE=1 the shell that becomes supervisord joins the envelope first: every process of
# the stack (PostgreSQL, the APIs, the worker, nginx, their restarts) is born inside it.
supervisor_start_here() {
  local join=()
  [ "$ENVELOPE" = 1 ] && join=(envelope_join)
  log "starting supervisord (config run/supervisord.conf)"
  supervisor_start "$SUPERVISOR_CONF" "$SUPERVISOR_PID" "$LOGS/supervisord.log" "$STACK_MARK" "${join[@]}"
}

# --- the envelope (cgroup v1) ------------------------------------------------------------------

cg_dir() { echo "$CG/$1/$PESSOAS_CGROUP"; }

envelope_create() {
  [ "$(id -u)" = 0 ] || die "ENVELOPE=1 needs root (cgroups)"
  [ -d "$CG/cpu" ] || die "no cgroup v1 cpu controller at $CG/cpu"
  local quota
  quota=$(python3 -c "print(int(float('$PESSOAS_ENVELOPE_CPUS') * 100000))")
  mkdir -p "$(cg_dir cpu)"
  echo 100000 >"$(cg_dir cpu)/cpu.cfs_period_us"
  echo "$quota" >"$(cg_dir cpu)/cpu.cfs_quota_us"
  log "envelope: $(cg_dir cpu): cpu.cfs_quota_us=$quota cpu.cfs_period_us=100000 ($PESSOAS_ENVELOPE_CPUS CPUs)"
  if [ -d "$CG/cpuacct" ] && mkdir -p "$(cg_dir cpuacct)" 2>/dev/null; then
    log "envelope: $(cg_dir cpuacct): accounting only (cpuacct.usage: CPU ns used)"
  fi
  if [ -d "$CG/memory" ] && mkdir -p "$(cg_dir memory)" 2>/dev/null; then
    echo 3 >"$(cg_dir memory)/memory.move_charge_at_immigrate" 2>/dev/null || true
    if echo "$PESSOAS_ENVELOPE_MEMORY" >"$(cg_dir memory)/memory.limit_in_bytes" 2>/dev/null; then
      log "envelope: $(cg_dir memory): memory.limit_in_bytes=$(cat "$(cg_dir memory)/memory.limit_in_bytes") ($PESSOAS_ENVELOPE_MEMORY)"
    else
      log "envelope: memory limit not allowed here; CPU only"
      rmdir "$(cg_dir memory)" 2>/dev/null || true
    fi
  else
    log "envelope: no memory cgroup here; CPU only"
  fi
}

envelope_join() { # PID...: into every group of the envelope (a process moves with all its threads)
  local ctrl pid
  for ctrl in "${CGROUP_CONTROLLERS[@]}"; do
    [ -d "$(cg_dir "$ctrl")" ] || continue
    for pid in "$@"; do echo "$pid" >"$(cg_dir "$ctrl")/cgroup.procs" 2>/dev/null || true; done
  done
}

descendants() { # PID...: those processes and all their descendants
  local pid
  for pid in "$@"; do
    echo "$pid"
    # shellcheck disable=SC2046
    descendants $(pgrep -P "$pid" || true)
  done
}

system_service_pids() { # NAME PID... for the machine's Redis and RabbitMQ
  local redis_pid
  redis_pid=$(redis-cli -u "$PESSOAS_REDIS_URL" info server 2>/dev/null | tr -d '\r' |
    sed -n 's/^process_id://p')
  # shellcheck disable=SC2086 # empty when Redis does not say
  echo "redis $(descendants ${redis_pid:-} | tr '\n' ' ')"
  echo "rabbitmq $(pgrep -u rabbitmq | tr '\n' ' ')"
}

envelope_in_group() { grep -qx "$1" "$(cg_dir cpu)/cgroup.procs" 2>/dev/null; }

envelope_move_system_services() {
  local name pids pid moved total
  while read -r name pids; do
    # shellcheck disable=SC2086
    envelope_join $pids
    moved=0 total=0
    for pid in $pids; do
      alive "$pid" || continue # a short-lived child (rabbit's disk monitor runs df, ...)
      total=$((total + 1))
      envelope_in_group "$pid" && moved=$((moved + 1))
    done
    log "envelope: $name: $moved of $total running processes moved in (pids seen: ${pids:-none})"
  done < <(system_service_pids)
}

envelope_report_stack() {
  local pids pid in=0 total=0
  # shellcheck disable=SC2046
  pids=$(descendants $(pid_of "$SUPERVISOR_PID"))
  for pid in $pids; do
    total=$((total + 1))
    envelope_in_group "$pid" && in=$((in + 1))
  done
  log "envelope: stack (supervisord and all it runs): $in of $total processes in the groups"
}

envelope_remove() {
  local ctrl dir pid n
  for ctrl in "${CGROUP_CONTROLLERS[@]}"; do
    dir=$(cg_dir "$ctrl")
    [ -d "$dir" ] || continue
    n=0
    for _ in 1 2 3; do # a process may fork while we move: go round until the group is empty
      while read -r pid; do
        echo "$pid" >"$CG/$ctrl/cgroup.procs" 2>/dev/null && n=$((n + 1))
      done <"$dir/cgroup.procs"
      [ -s "$dir/cgroup.procs" ] || break
    done
    if rmdir "$dir" 2>/dev/null; then
      log "envelope: $ctrl: $n processes moved back to the root group; $dir removed"
    else
      log "envelope: $ctrl: could not remove $dir (still holds: $(tr '\n' ' ' <"$dir/cgroup.procs"))"
    fi
  done
}

# --- up / down / status / reset ----------------------------------------------------------------

instance_get() { # N PATH
  if [ "$PESSOAS_UPSTREAM" = uds ]; then
    curl -sf -m 2 -o /dev/null --unix-socket "$RUN/api$1.sock" "http://localhost$2"
  else
    local port=API$1_PORT
    curl -sf -m 2 -o /dev/null "http://127.0.0.1:${!port}$2"
  fi
}
instances_health() { instance_get 1 /health && instance_get 2 /health; }
stack_health() { instances_health && curl -sf -m 2 -o /dev/null http://127.0.0.1:9999/health; }
stack_ready() { instance_get 1 /ready && instance_get 2 /ready; } # their PostgreSQL answers them

tail_logs() {
  local f
  for f in "$LOGS"/*.log; do
    [ -e "$f" ] || continue
    printf '\n--- tail of %s ---\n' "${f#"$ROOT"/}" >&2
    tail -n 25 "$f" >&2
  done
}

failed() { # WHAT: the logs, the stack taken down, exit 1
  tail_logs
  printf '\n' >&2
  log "$1: stopping the stack"
  cmd_down >&2 || true
  die "deploy/local/stack.sh ${COMMAND:-up} failed: $1 (logs above, in run/logs/)"
}

port_9999_free() {
  if tcp_open 127.0.0.1 9999; then
    die "port 9999 is taken by another process: $(ss -Hltnp 'sport = :9999' | head -1)"
  fi
}

envelope_prepare() { # with ENVELOPE=1 the cgroups; without, remove what an earlier run left
  if [ "$ENVELOPE" = 1 ]; then
    envelope_create
  elif [ -d "$(cg_dir cpu)" ]; then
    log "ENVELOPE is not 1: removing the envelope left by an earlier run"
    envelope_remove
  fi
}

cmd_up() {
  [ -x "$PESSOAS" ] || die "$PESSOAS is missing: build the venv first (make stack does)"
  [ -x "$SUPERVISORD" ] || die "$SUPERVISORD is missing: install the stack set first (make stack does)"
  if pid=$(running_supervisor) && stack_health; then
    log "the stack is already up (supervisor pid $pid); 'deploy/local/stack.sh down' first to restart it"
    return 0
  elif [ -n "$pid" ]; then
    [ "$ENVELOPE" = 1 ] && die "a supervisord runs outside the envelope (pid $pid): 'deploy/local/stack.sh down' first"
    log "supervisord runs (pid $pid), the stack does not answer: starting what is missing"
  fi
  ensure_nginx
  ensure_redis
  ensure_rabbitmq
  mkdir -p "$LOGS"
  render_nginx "$NGINX_DIR"
  eval "$(nginx_command -t -q)" 2>>"$LOGS/nginx-error.log" </dev/null ||
    { tail -n 5 "$LOGS/nginx-error.log" >&2; die "nginx -t failed on $NGINX_DIR/nginx.conf"; }
  running_supervisor >/dev/null || port_9999_free
  if ! running_supervisor >/dev/null; then
    envelope_prepare
    [ "$ENVELOPE" = 1 ] && envelope_move_system_services
    rm -f "$RUN"/api*.sock
    render_supervisor "$RUN"
    supervisor_start_here
  fi
  write_prometheus_targets "$RUN/prometheus-targets.json"
  stack_pg_start

  log "pessoas migrate"
  "$PESSOAS" migrate </dev/null >>"$LOGS/migrate.log" 2>&1 ||
    { tail -n 30 "$LOGS/migrate.log" >&2; die "pessoas migrate failed (log: run/logs/migrate.log)"; }

  log "starting ${PROGRAMS[*]} ($PESSOAS_UPSTREAM upstreams), then nginx on :9999"
  supervisorctl start 'pessoas:*' >/dev/null || failed "supervisorctl start pessoas:* failed"
  wait_for "both instances" "$PESSOAS_UP_TIMEOUT" instances_health ||
    failed "no answer from both instances' /health within ${PESSOAS_UP_TIMEOUT}s"
  supervisorctl start nginx >/dev/null || failed "nginx did not start (run/logs/nginx-error.log)"
  wait_for "the stack" "$PESSOAS_UP_TIMEOUT" stack_health ||
    failed "no answer from http://127.0.0.1:9999/health within ${PESSOAS_UP_TIMEOUT}s"
  # Ready = PostgreSQL answers the instance (its first probe runs a moment after the start).
  log "waiting up to ${PESSOAS_UP_READY_TIMEOUT}s for both instances' /ready"
  if ! wait_for "both instances ready" "$PESSOAS_UP_READY_TIMEOUT" stack_ready; then
    log "not ready within ${PESSOAS_UP_READY_TIMEOUT}s: creations answer 503 until it is (see /ready's reasons)"
  fi
  [ "$ENVELOPE" = 1 ] && envelope_report_stack
  log "up: http://127.0.0.1:9999 (supervisor pid $(pid_of "$SUPERVISOR_PID"); deploy/local/stack.sh ctl status; logs in run/logs/)"
}

EMBEDDED_DB=$RUN/embedded/pessoas.sqlite3

cmd_up_embedded() { # with ENVELOPE=1, `pessoas serve` is the envelope's only process: no services
  [ -x "$PESSOAS" ] || die "$PESSOAS is missing: build the venv first (make bench-embedded does)"
  if pid=$(running_supervisor); then die "a stack is already up (supervisor pid $pid): 'deploy/local/stack.sh down' first"; fi
  port_9999_free
  mkdir -p "$LOGS"
  envelope_prepare
  PROGRAMS=(embedded)
  render_supervisor "$RUN"
  supervisor_start_here
  log "pessoas serve on :9999, SQLite at ${EMBEDDED_DB#"$ROOT"/}"
  supervisorctl start pessoas:embedded >/dev/null || failed "pessoas serve did not start"
  wait_for "pessoas serve" "$PESSOAS_UP_TIMEOUT" curl -sf -m 2 http://127.0.0.1:9999/health ||
    failed "no answer from http://127.0.0.1:9999/health"
  [ "$ENVELOPE" = 1 ] && envelope_report_stack
  log "up: http://127.0.0.1:9999 (supervisor pid $(pid_of "$SUPERVISOR_PID"); logs in run/logs/)"
}

cmd_reset_embedded() {
  if running_supervisor >/dev/null; then die "the stack is up: 'deploy/local/stack.sh down' first"; fi
  rm -f "$EMBEDDED_DB" "$EMBEDDED_DB-wal" "$EMBEDDED_DB-shm"
  log "deleted ${EMBEDDED_DB#"$ROOT"/} (and its WAL)"
}

cmd_down() {
  local pid
  # supervisord stops nginx, then the application (each program PESSOAS_STOP_TIMEOUT seconds after
  # its signal, then SIGKILL to its process group), then PostgreSQL: it gets that long, and more.
  stop_pid "$(pid_of "$SUPERVISOR_PID")" "supervisord (and all it runs)" $((2 * PESSOAS_STOP_TIMEOUT + 70))
  rm -f "$SUPERVISOR_PID"
  # Programs orphaned by a supervisord that was killed outright: this run's processes only.
  for pid in $(marked_pids "$STACK_MARK"); do
    stop_pid "$pid" "orphaned $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)" "$PESSOAS_STOP_TIMEOUT"
  done
  rm -f "$RUN"/api*.sock
  if [ -d "$(cg_dir cpu)" ] || [ -d "$(cg_dir memory)" ] || [ -d "$(cg_dir cpuacct)" ]; then
    envelope_remove
  fi
  log "down (the system's PostgreSQL, Redis and RabbitMQ keep running)"
}

row() { printf '%-14s %s\n' "$1" "$2"; }

cmd_status() {
  local pid s n rc=0
  if pid=$(running_supervisor); then
    row supervisord "pid $pid"
    supervisorctl status 2>/dev/null | while read -r n s; do row "${n#pessoas:}" "$s"; done
  else
    row supervisord "not running"
    rc=3
  fi
  for n in 1 2; do
    if instance_get "$n" /health; then row "api$n health" ok; else row "api$n health" "no answer"; fi
  done
  if curl -sf -m 2 -o /dev/null http://127.0.0.1:9999/health; then row ":9999/health" ok; else row ":9999/health" "no answer"; rc=3; fi
  if [ -d "$(cg_dir cpu)" ]; then
    row envelope "$(cg_dir cpu): quota $(cat "$(cg_dir cpu)/cpu.cfs_quota_us")/$(cat "$(cg_dir cpu)/cpu.cfs_period_us") us, $(wc -l <"$(cg_dir cpu)/cgroup.procs") processes; $(grep -E '^(nr_throttled|throttled_time)' "$(cg_dir cpu)/cpu.stat" | tr '\n' ' ')"
    if [ -d "$(cg_dir memory)" ]; then
      row "" "memory limit $(cat "$(cg_dir memory)/memory.limit_in_bytes"), usage $(cat "$(cg_dir memory)/memory.usage_in_bytes"), max $(cat "$(cg_dir memory)/memory.max_usage_in_bytes")"
    fi
    if [ -d "$(cg_dir cpuacct)" ]; then row "" "cpuacct.usage $(cat "$(cg_dir cpuacct)/cpuacct.usage") ns"; fi
  else
    row envelope none
  fi
  if stack_pg_up; then row postgres "up (the stack's, 127.0.0.1:$PG_PORT)"; else row postgres DOWN; rc=3; fi
  for s in redis rabbitmq; do
    if "${s}_up"; then row "$s" up; else row "$s" DOWN; rc=3; fi
  done
  return $rc
}

cmd_reset() { # with the stack down, its PostgreSQL is started for the reset and stopped again
  local started=""
  ensure_redis
  ensure_rabbitmq
  [ -x "$PYTHON" ] || die "$PYTHON is missing: build the venv first (make stack-reset does)"
  if ! stack_pg_up; then
    running_supervisor >/dev/null || started=1
    stack_pg_start
  fi
  "$PYTHON" "$ROOT/deploy/local/reset.py" </dev/null || { [ -z "$started" ] || cmd_down; die "deploy/local/reset.py failed"; }
  if [ -n "$started" ]; then
    cmd_down
  elif running_supervisor >/dev/null; then
    log "note: the stack is up; messages a worker holds unacknowledged were not purged," \
      "and in-process state of the instances is theirs (down, reset, up for a clean start)"
  fi
}

# --- the machine's Redis and RabbitMQ, stopped and started (the fault suite) -------------------
# Started again with lib.sh's own command; Redis with the memory bound and policy it had.

REDIS_MEMORY_FILE=$RUN/redis-memory.args
cmd_redis_stop() {
  local name value
  mkdir -p "$RUN"
  for name in maxmemory maxmemory-policy; do
    value=$(redis-cli -u "$PESSOAS_REDIS_URL" config get "$name" 2>/dev/null | sed -n 2p)
    if [ -n "$value" ]; then printf -- '--%s %s ' "$name" "$value"; fi
  done >"$REDIS_MEMORY_FILE"
  redis-cli -u "$PESSOAS_REDIS_URL" shutdown nosave >/dev/null 2>&1 || true
  wait_for "Redis gone" 30 eval '! redis_up' || die "Redis still answers"
}
cmd_redis_start() {
  REDIS_EXTRA_ARGS="$(cat "$REDIS_MEMORY_FILE" 2>/dev/null || true)" ensure_redis
}
cmd_rabbitmq_stop() {
  rabbitmqctl stop </dev/null >/dev/null 2>&1 || true
  wait_for "RabbitMQ gone" 60 eval '! rabbitmq_up' || die "RabbitMQ still answers"
}

COMMAND=${1:-}
case "$COMMAND" in
  up) cmd_up ;;
  up-embedded) cmd_up_embedded ;;
  reset-embedded) cmd_reset_embedded ;;
  down) cmd_down ;;
  reset) cmd_reset ;;
  pg-start) stack_pg_start ;;
  pg-stop) stack_pg_stop ;;
  redis-stop) cmd_redis_stop ;;
  redis-start) cmd_redis_start ;;
  rabbitmq-stop) cmd_rabbitmq_stop ;;
  rabbitmq-start) ensure_rabbitmq ;;
  ctl)
    shift
    supervisorctl "$@"
    ;;
  status) cmd_status ;;
  render-nginx)
    [ -n "${2:-}" ] || die "usage: $0 render-nginx DIR"
    render_nginx "$2"
    ;;
  render-targets)
    [ -n "${2:-}" ] || die "usage: $0 render-targets FILE"
    write_prometheus_targets "$2"
    ;;
  render-supervisor)
    [ -n "${2:-}" ] || die "usage: $0 render-supervisor DIR"
    render_supervisor "$(cd "$2" && pwd)"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac
