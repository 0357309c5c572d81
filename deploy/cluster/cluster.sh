#!/usr/bin/env bash
# pessoas on clustered engines, on this one machine: every node its own process, ports and data
# directory under run/cluster/, next to (never touching) the machine's own services.
#
#   deploy/cluster/cluster.sh up      start everything; returns once :9999/health answers
#   deploy/cluster/cluster.sh down    stop everything `up` started and delete run/cluster/
#   deploy/cluster/cluster.sh status  what runs
#   deploy/cluster/cluster.sh check   replication of each engine, then an end-to-end smoke test
#   deploy/cluster/cluster.sh env     the PESSOAS_* settings the APIs and workers run with
#
# The topology (ports on 127.0.0.1):
#   RabbitMQ    three nodes clustered (rabbit-c1..3@localhost), AMQP 5681..5683, distribution
#               25681..25683, no management plugin; the pessoas queue is a quorum queue on all three
#   Redis       a cache: a primary (6391) and a replica (6392), each with maxmemory 64mb and
#               allkeys-lru and nothing on disk, and three Sentinels (26391..26393, quorum 2,
#               master name pessoas) that keep the cache available; a failover may lose cached
#               keys, which costs reads a trip to PostgreSQL and nothing else
#   PostgreSQL  15, a primary (5441) and a streaming hot standby (5442), run as the postgres
#               user from data directories of their own (initdb, pg_basebackup)
#   pessoas     three APIs (run/cluster/api{1,2,3}.sock) and two workers under deploy/cluster/supervise.py,
#               nginx on :9999
# Run it under `flock -x /tmp/pessoas-machine.lock` (make cluster does), and always `down` after.
set -eEuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=deploy/local/lib.sh
source deploy/local/lib.sh

RUN=$ROOT/run/cluster
LOGS=$RUN/logs
PESSOAS=$ROOT/.venv/bin/pessoas
PYTHON=$ROOT/.venv/bin/python
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
RABBIT_SBIN=${RABBIT_SBIN:-/usr/lib/rabbitmq/bin}
: "${PESSOAS_UP_TIMEOUT:=180}"

RABBIT_NODES=(1 2 3)
RABBIT_PORT_BASE=5680
RABBIT_DIST_BASE=25680
REDIS_PRIMARY=6391
REDIS_MAXMEMORY=64mb # each Redis server's bound; at it, the least recently used keys are evicted
REDIS_REPLICA=6392
SENTINEL_PORTS=(26391 26392 26393)
PG_PRIMARY=5441
PG_STANDBY=5442
APIS=(1 2 3)
WORKERS=(1 2)

amqp_urls() {
  local n urls=()
  for n in "${RABBIT_NODES[@]}"; do urls+=("amqp://guest:guest@127.0.0.1:$((RABBIT_PORT_BASE + n))/%2F"); done
  local IFS=,
  echo "${urls[*]}"
}

app_env() {
  echo "PESSOAS_DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PRIMARY/pessoas"
  echo "PESSOAS_DATABASE_READ_URL=postgresql://postgres@127.0.0.1:$PG_STANDBY/pessoas"
  echo "PESSOAS_REDIS_URL=redis://127.0.0.1:$REDIS_PRIMARY/0"
  echo "PESSOAS_REDIS_SENTINELS=$(printf '127.0.0.1:%s,' "${SENTINEL_PORTS[@]}" | sed 's/,$//')"
  echo "PESSOAS_REDIS_SENTINEL_MASTER=pessoas"
  echo "PESSOAS_AMQP_URL=$(amqp_urls)"
  echo "PESSOAS_QUEUE_TYPE=quorum"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_in() { if [ -s "$1" ]; then tr -dc '0-9' <"$1"; fi; }

# Long-lived children must not inherit the caller's descriptors (the machine lock among them).
close_inherited_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}
spawn() { # LOG COMMAND...: in the background, own session, no inherited descriptors
  local log=$1
  shift
  (
    close_inherited_fds
    exec setsid "$@" </dev/null >>"$log" 2>&1
  ) &
}

# --- RabbitMQ ----------------------------------------------------------------------------------

rabbit_env() { # N: the environment of node N (and of the CLI talking to it)
  local n=$1 dir=$RUN/rabbitmq/c$1
  echo "HOME=$RUN/rabbitmq" # the Erlang cookie shared by the three nodes and the CLI
  echo "RABBITMQ_NODENAME=rabbit-c$n@localhost"
  echo "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
  echo "RABBITMQ_NODE_PORT=$((RABBIT_PORT_BASE + n))"
  echo "RABBITMQ_DIST_PORT=$((RABBIT_DIST_BASE + n))"
  echo "RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf"
  echo "RABBITMQ_ENABLED_PLUGINS_FILE=$RUN/rabbitmq/enabled_plugins"
  echo "RABBITMQ_MNESIA_BASE=$dir/mnesia"
  echo "RABBITMQ_LOG_BASE=$dir/log"
  echo "RABBITMQ_PID_FILE=$dir/pid"
  # One scheduler, no busy-waiting: three nodes share two cores with everything else.
  echo "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"
}
rabbitctl() { # N ARGS...
  local n=$1 vars
  shift
  mapfile -t vars < <(rabbit_env "$n")
  env "${vars[@]}" "$RABBIT_SBIN/rabbitmqctl" -n "rabbit-c$n@localhost" "$@"
}

rabbit_up() {
  mkdir -p "$RUN/rabbitmq"
  if [ ! -s "$RUN/rabbitmq/.erlang.cookie" ]; then
    head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$RUN/rabbitmq/.erlang.cookie"
    chmod 400 "$RUN/rabbitmq/.erlang.cookie"
  fi
  echo "[]." >"$RUN/rabbitmq/enabled_plugins" # no plugin: the service speaks AMQP only
  {
    echo "# Written by deploy/cluster/cluster.sh: the three local nodes find each other from this list."
    echo "cluster_formation.peer_discovery_backend = classic_config"
    for n in "${RABBIT_NODES[@]}"; do echo "cluster_formation.classic_config.nodes.$n = rabbit-c$n@localhost"; done
    echo "cluster_partition_handling = pause_minority"
    echo "vm_memory_high_watermark.absolute = 256MiB"
    echo "disk_free_limit.absolute = 100MB"
  } >"$RUN/rabbitmq/rabbitmq.conf"
  for n in "${RABBIT_NODES[@]}"; do
    mkdir -p "$RUN/rabbitmq/c$n"
    cp "$RUN/rabbitmq/rabbitmq.conf" "$RUN/rabbitmq/c$n/rabbitmq.conf"
  done
  for n in "${RABBIT_NODES[@]}"; do rabbit_start "$n"; done
  for n in "${RABBIT_NODES[@]}"; do
    wait_for "RabbitMQ node c$n" "$PESSOAS_UP_TIMEOUT" tcp_open 127.0.0.1 $((RABBIT_PORT_BASE + n))
  done
  wait_for "three RabbitMQ nodes in one cluster" 120 rabbit_clustered
}
rabbit_start() { # N: start node N (again, after a fault: it rejoins with its data)
  local n=$1 vars
  mkdir -p "$RUN/rabbitmq/c$n"
  mapfile -t vars < <(rabbit_env "$n")
  spawn "$LOGS/rabbit-c$n.log" env "${vars[@]}" "$RABBIT_SBIN/rabbitmq-server"
}
rabbit_clustered() {
  [ "$(rabbitctl 1 eval 'length(rabbit_nodes:all_running()).' 2>/dev/null)" = 3 ]
}
rabbit_down() {
  local n pid
  for n in "${RABBIT_NODES[@]}"; do
    pid=$(pid_in "$RUN/rabbitmq/c$n/pid")
    if pid_alive "$pid"; then
      rabbitctl "$n" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    fi
  done
  for n in "${RABBIT_NODES[@]}"; do
    pid=$(pid_in "$RUN/rabbitmq/c$n/pid")
    for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.2; done
    pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  done
  return 0
}

# --- Redis -------------------------------------------------------------------------------------

redis_up() {
  local dir=$RUN/redis
  redis_start primary
  wait_for "Redis primary" 30 redis_answers "$REDIS_PRIMARY"
  redis_start replica --replicaof 127.0.0.1 "$REDIS_PRIMARY"
  wait_for "Redis replica in sync" 30 redis_replica_linked "$REDIS_REPLICA"
  local port
  for port in "${SENTINEL_PORTS[@]}"; do
    cat >"$dir/sentinel-$port.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
pidfile $dir/sentinel-$port.pid
dir $dir
sentinel monitor pessoas 127.0.0.1 $REDIS_PRIMARY 2
sentinel down-after-milliseconds pessoas 2000
sentinel failover-timeout pessoas 10000
sentinel parallel-syncs pessoas 1
EOF
    spawn "$LOGS/sentinel-$port.log" redis-server "$dir/sentinel-$port.conf" --sentinel
  done
  for port in "${SENTINEL_PORTS[@]}"; do
    wait_for "Sentinel $port sees the replica and the other Sentinels" 60 sentinel_ready "$port"
  done
}
redis_start() { # primary|replica [ARGS...]: (re)start one Redis server; after a failover the
  # Sentinels turn a returning old primary into a replica of the new one. A cache: nothing on
  # disk, and at maxmemory any key may be evicted (a replica follows its primary's evictions).
  local name=$1 port dir=$RUN/redis
  shift
  port=$([ "$name" = primary ] && echo "$REDIS_PRIMARY" || echo "$REDIS_REPLICA")
  mkdir -p "$dir/$name"
  spawn "$LOGS/redis-$name.log" redis-server --port "$port" --dir "$dir/$name" --pidfile "$dir/$name.pid" \
    --bind 127.0.0.1 --save "" --appendonly no --maxmemory "$REDIS_MAXMEMORY" \
    --maxmemory-policy allkeys-lru --daemonize no "$@"
}
redis_answers() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }
redis_replica_linked() { redis-cli -p "$1" info replication 2>/dev/null | grep -q 'master_link_status:up'; }
sentinel_ready() {
  local info
  info=$(redis-cli -p "$1" sentinel master pessoas 2>/dev/null | tr '\n' ' ')
  [[ $info == *"num-slaves 1 "* && $info == *"num-other-sentinels 2 "* ]]
}
redis_down() {
  local f pid
  for f in "$RUN"/redis/*.pid; do
    [ -e "$f" ] || continue
    pid=$(pid_in "$f")
    pid_alive "$pid" && kill "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for f in "$RUN"/redis/*.pid; do
    [ -e "$f" ] || continue
    pid=$(pid_in "$f")
    pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  done
  return 0
}

# --- PostgreSQL --------------------------------------------------------------------------------

as_postgres() { runuser -u postgres -- "$@"; }
pg_ctl_of() { # NAME ARGS...
  local name=$1
  shift
  as_postgres "$PG_BIN/pg_ctl" -D "$RUN/pg/$name" -l "$LOGS/pg-$name.log" "$@"
}

pg_up() {
  mkdir -p "$RUN/pg"
  chown postgres: "$RUN/pg"
  chmod 711 "$ROOT/run" "$RUN" # the postgres user must reach its directories under them
  touch "$LOGS/pg-primary.log" "$LOGS/pg-standby.log"
  chown postgres: "$LOGS/pg-primary.log" "$LOGS/pg-standby.log"
  as_postgres "$PG_BIN/initdb" -D "$RUN/pg/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >>"$LOGS/pg-primary.log"
  cat >>"$RUN/pg/primary/postgresql.conf" <<EOF
# deploy/cluster/cluster.sh: a primary streaming to one hot standby
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY
unix_socket_directories = '$RUN/pg'
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
max_connections = 80
shared_buffers = 128MB
fsync = on
synchronous_commit = on
full_page_writes = on
jit = off
EOF
  echo "host replication postgres 127.0.0.1/32 trust" >>"$RUN/pg/primary/pg_hba.conf"
  pg_ctl_of primary -w -t 60 start >/dev/null
  as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PRIMARY" -U postgres -qc "CREATE DATABASE pessoas"
  as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY" -U postgres -D "$RUN/pg/standby" \
    -R -X stream -c fast >>"$LOGS/pg-standby.log" 2>&1
  echo "port = $PG_STANDBY" >>"$RUN/pg/standby/postgresql.conf"
  pg_ctl_of standby -w -t 60 start >/dev/null
  wait_for "the standby streaming from the primary" 60 pg_streaming
}
pg_streaming() {
  [ "$(as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PRIMARY" -U postgres -Atc \
    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)" = 1 ]
}
pg_down() {
  local name
  for name in standby primary; do
    [ -f "$RUN/pg/$name/postmaster.pid" ] && pg_ctl_of "$name" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  done
  return 0
}

# --- the application and nginx -----------------------------------------------------------------

apps_up() {
  local -a env_vars programs=()
  mapfile -t env_vars < <(app_env)
  env "${env_vars[@]}" "$PESSOAS" migrate >>"$LOGS/migrate.log" 2>&1
  local n
  for n in "${APIS[@]}"; do programs+=(--program "api$n=env ${env_vars[*]} $PESSOAS serve --uds $RUN/api$n.sock"); done
  for n in "${WORKERS[@]}"; do programs+=(--program "worker$n=env ${env_vars[*]} $PESSOAS worker"); done
  spawn "$LOGS/supervise.log" "$PYTHON" "$ROOT/deploy/cluster/supervise.py" --log-dir "$LOGS" \
    --pid-dir "$RUN/pids" --grace 30 "${programs[@]}"
  echo $! >"$RUN/supervise.pid"

  mkdir -p "$RUN/nginx"
  ln -sfn "$ROOT/deploy/nginx/nginx.conf" "$RUN/nginx/nginx.conf"
  for n in "${APIS[@]}"; do echo "server unix:$RUN/api$n.sock max_fails=3 fail_timeout=2s;"; done \
    >"$RUN/nginx/upstream-servers.conf"
  (
    close_inherited_fds
    exec nginx -p "$RUN/nginx/" -c "$RUN/nginx/nginx.conf" -e "$LOGS/nginx-error.log" \
      -g "pid $RUN/nginx/nginx.pid; user root;"
  )
  wait_for "every API and nginx on :9999" "$PESSOAS_UP_TIMEOUT" apps_answer
  # Ready = the API's PostgreSQL primary answers (Redis and RabbitMQ are optional on every route).
  wait_for "every API ready" "$PESSOAS_UP_TIMEOUT" apps_ready
}
apps_answer() {
  local n
  for n in "${APIS[@]}"; do curl -sf -m 2 --unix-socket "$RUN/api$n.sock" http://localhost/health >/dev/null || return 1; done
  curl -sf -m 2 http://127.0.0.1:9999/health >/dev/null
}
apps_ready() {
  local n
  for n in "${APIS[@]}"; do curl -sf -m 2 --unix-socket "$RUN/api$n.sock" http://localhost/ready >/dev/null || return 1; done
}
apps_down() {
  local pid
  pid=$(pid_in "$RUN/nginx/nginx.pid")
  pid_alive "$pid" && kill -QUIT "$pid" 2>/dev/null || true
  pid=$(pid_in "$RUN/supervise.pid")
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do pid_alive "$pid" || break; sleep 0.2; done
    pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  return 0
}

# --- commands ----------------------------------------------------------------------------------

up() {
  [ -x "$PESSOAS" ] || die "no $PESSOAS: run make unit first"
  [ ! -e "$RUN" ] || die "$RUN exists: a cluster is up or was not taken down (cluster.sh down)"
  tcp_open 127.0.0.1 9999 && die "something already listens on :9999"
  mkdir -p "$LOGS" "$RUN/pids"
  trap 'log "cluster up failed; logs kept in run/cluster-failed-logs/; taking it down"; keep_logs; down; exit 1' ERR
  log "RabbitMQ: three nodes"
  rabbit_up
  log "Redis: primary, replica, three Sentinels"
  redis_up
  log "PostgreSQL 15: primary and hot standby"
  pg_up
  log "pessoas: migrate, three APIs, two workers, nginx"
  apps_up
  trap - ERR
  log "cluster up: http://127.0.0.1:9999 (cluster.sh status; cluster.sh down)"
}

keep_logs() {
  rm -rf "$ROOT/run/cluster-failed-logs"
  cp -r "$LOGS" "$ROOT/run/cluster-failed-logs" 2>/dev/null || true
  local n
  for n in "${RABBIT_NODES[@]}"; do cp -r "$RUN/rabbitmq/c$n/log" "$ROOT/run/cluster-failed-logs/rabbit-c$n" 2>/dev/null || true; done
}

down() {
  [ -d "$RUN" ] || {
    log "no cluster under $RUN"
    return 0
  }
  apps_down
  pg_down
  redis_down
  rabbit_down
  rm -rf "$RUN"
  log "cluster down; $RUN removed"
}

status() {
  local n
  for n in "${RABBIT_NODES[@]}"; do
    printf 'rabbit-c%s :%s %s\n' "$n" $((RABBIT_PORT_BASE + n)) "$(tcp_open 127.0.0.1 $((RABBIT_PORT_BASE + n)) && echo up || echo down)"
  done
  for port in "$REDIS_PRIMARY" "$REDIS_REPLICA"; do
    printf 'redis :%s %s\n' "$port" "$(redis-cli -p "$port" info replication 2>/dev/null | tr -d '\r' | sed -n 's/^role://p' || true)"
  done
  for port in "${SENTINEL_PORTS[@]}"; do
    printf 'sentinel :%s primary %s\n' "$port" "$(redis-cli -p "$port" sentinel get-master-addr-by-name pessoas 2>/dev/null | tr '\n' ' ')"
  done
  for port in "$PG_PRIMARY" "$PG_STANDBY"; do
    printf 'postgres :%s in recovery: %s\n' "$port" "$(as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null || echo down)"
  done
  printf ':9999 %s\n' "$(curl -sf -m 2 http://127.0.0.1:9999/health || echo down)"
}

# The checks of a running cluster: the queue replicated on the three nodes, Redis and PostgreSQL
# replicating, then deploy/cluster/smoke.py through :9999.
check() {
  local queue
  queue=$(rabbitctl 1 list_queues -q --formatter json name type members online |
    python3 -c 'import json,sys; q={x["name"]: x for x in json.load(sys.stdin)}["pessoas"]; print(q["type"], len(q["members"]), len(q["online"]))')
  log "RabbitMQ queue pessoas: type, members, online: $queue"
  [ "$queue" = "quorum 3 3" ] || die "the pessoas queue is not a quorum queue on three nodes"
  redis_replica_linked "$REDIS_REPLICA" || die "the Redis replica does not follow the primary"
  pg_streaming || die "the PostgreSQL standby is not streaming"
  log "Redis replica linked; PostgreSQL standby streaming"
  "$PYTHON" "$ROOT/deploy/cluster/smoke.py" "${SMOKE_COUNT:-100}"
}

case "${1:-}" in
up) up ;;
# Used by the fault scenarios (tests/cluster_faults): start one node again after a fault.
start-rabbit) rabbit_start "$2" && wait_for "RabbitMQ node c$2" 120 tcp_open 127.0.0.1 $((RABBIT_PORT_BASE + $2)) ;;
start-redis) redis_start "$2" && wait_for "Redis $2" 30 redis_answers "$([ "$2" = primary ] && echo "$REDIS_PRIMARY" || echo "$REDIS_REPLICA")" ;;
stop-standby) pg_ctl_of standby -m fast -w -t 60 stop >/dev/null ;;
start-standby) pg_ctl_of standby -w -t 60 start >/dev/null && wait_for "the standby streaming" 60 pg_streaming ;;
rabbit-up) mkdir -p "$LOGS" && rabbit_up ;; # one engine alone, for debugging
rabbitctl) shift && rabbitctl "$@" ;;
check) check ;;
down) down ;;
status) status ;;
env) app_env ;;
*) die "usage: $0 up|down|status|check|env" ;;
esac
