#!/usr/bin/env bash
# pessoas on clustered engines, on this one machine: every node its own process, ports and data
# directory under run/cluster/, next to (never touching) the machine's own services.
#
#   deploy/cluster/cluster.sh up      start everything; returns once every API is ready behind :9999
#   deploy/cluster/cluster.sh down    stop everything `up` started and delete run/cluster/
#   deploy/cluster/cluster.sh status  what runs
#   deploy/cluster/cluster.sh check   replication of each engine, then an end-to-end smoke test
#   deploy/cluster/cluster.sh env     the PESSOAS_* settings the APIs and workers run with
#
# The topology:
#   RabbitMQ    three nodes clustered (rabbit-c1..3@localhost), AMQP 127.0.0.1:5681..5683,
#               distribution 25681..25683, no management plugin; the pessoas queue is a quorum
#               queue on all three
#   Redis       a cache: a primary (127.0.0.1:6391) and a replica (6392), each with maxmemory 64mb
#               and allkeys-lru and nothing on disk, and three Sentinels (26391..26393, quorum 2,
#               master name pessoas) that keep the cache available; a failover may lose cached
#               keys, which costs reads a trip to PostgreSQL and nothing else
#   PostgreSQL  15 under Patroni 3.0 (Debian's): node pgN on its own loopback address 127.0.0.1N (pg1 on
#               127.0.0.11:5441, pg2 on 127.0.0.12:5442; Patroni's REST API on port 8008 of the same
#               address), one primary and one synchronous standby (deploy/cluster/patroni.yml.in:
#               synchronous_mode, not strict, and why). The DCS is etcd: three members, eN on
#               127.0.0.1N:2379 (e3 is a witness with no PostgreSQL); each Patroni talks to the
#               member on its own address only, so a node cut off by iptables (cluster.sh
#               partition N) loses its clients, its standby and its DCS together
#   pessoas     three APIs (run/cluster/api{1,2,3}.sock) and two workers, nginx on :9999. The APIs
#               and workers reach PostgreSQL through a multi-host libpq URL with
#               target_session_attrs=read-write (cluster.sh env): every new connection goes to the
#               current primary, so they follow a failover without a restart
#   supervisord runs every process of it: the RabbitMQ nodes, the Redis servers and Sentinels, etcd,
#               Patroni (which runs PostgreSQL), the APIs, the workers and nginx
#               (deploy/cluster/supervisord.conf.in and deploy/local/program.conf.in, rendered into
#               run/cluster/supervisord.conf; `cluster.sh ctl status`). This script renders it,
#               starts it, waits for each engine, then starts the application with supervisorctl.
#               supervisord does not restart a RabbitMQ node or a Redis server that died: the
#               fault scenarios kill them and start them again (start-rabbit, start-redis)
#
# Commands used by the fault scenarios (tests/cluster_faults): start-rabbit N, start-redis
# primary|replica, stop-pg pgN / start-pg pgN (a node's Patroni and its PostgreSQL), pg-state (the
# Patroni cluster as JSON), partition N / heal (iptables on loopback).
# Run it under `flock -x /tmp/pessoas-machine.lock` (make cluster does not: wrap it), and always
# `down` after.
set -eEuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=deploy/local/lib.sh
source deploy/local/lib.sh

RUN=$ROOT/run/cluster
LOGS=$RUN/logs
PESSOAS=$ROOT/.venv/bin/pessoas
PYTHON=$ROOT/.venv/bin/python
SUPERVISORD=$ROOT/.venv/bin/supervisord
SUPERVISORCTL=$ROOT/.venv/bin/supervisorctl
SUPERVISOR_CONF=$RUN/supervisord.conf
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
RABBIT_SBIN=${RABBIT_SBIN:-/usr/lib/rabbitmq/bin}
# Debian's Patroni 3.0.2 and etcd 3.4. Patroni talks to etcd over its v2 protocol: 3.0.2's v3 client
# (etcd3) rewrites the leader key without checking who holds it (fixed in Patroni 3.0.3), and in a
# fault run the old primary's Patroni, back from a partition with a stale view, took the key back
# from the promoted standby and was promoted again. The v2 client updates the key only if it
# still holds it (compare-and-swap on its value). Newer Patroni releases (3.2 and later) would not
# do: they raise ttl to 20 s at least, which with the APIs' connection back-off overruns the 30 s a
# failover may refuse creations for (docs/scaling.md).
PATRONI=${PATRONI:-/usr/bin/patroni}
ETCD=${ETCD:-/usr/bin/etcd}
: "${PESSOAS_UP_TIMEOUT:=180}"
: "${PESSOAS_STOP_TIMEOUT:=30}" # an API's or a worker's grace period after SIGTERM
# Set in the environment of supervisord, and so of everything it starts: `down` finds what is left
# of this cluster by it, and nothing else.
CLUSTER_MARK=PESSOAS_CLUSTER_RUN_DIR=$RUN

RABBIT_NODES=(1 2 3)
RABBIT_PORT_BASE=5680
RABBIT_DIST_BASE=25680
REDIS_PRIMARY=6391
REDIS_MAXMEMORY=64mb # each Redis server's bound; at it, the least recently used keys are evicted
REDIS_REPLICA=6392
SENTINEL_PORTS=(26391 26392 26393)
# PostgreSQL node N (pgN) and etcd member N (eN) live on 127.0.0.1N; deploy/cluster/patroni_state.py
# knows the same addresses.
PG_NODES=(1 2)
ETCD_NODES=(1 2 3)
PG_PORT_BASE=5440
PATRONI_PORT=8008
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
PARTITION_MARK=pessoas-cluster-partition # the comment on every iptables rule `partition` adds
APIS=(1 2 3)
WORKERS=(1 2)
API_METRICS_PORTS=(9141 9142 9143) # each API's Prometheus metrics (127.0.0.1; never through :9999)
WORKER_METRICS_PORTS=(9150 9170)   # a worker's N processes serve on the port and the N-1 next ones

node_addr() { echo "127.0.0.1$1"; }
pg_port() { echo $((PG_PORT_BASE + $1)); }

amqp_urls() {
  local n urls=()
  for n in "${RABBIT_NODES[@]}"; do urls+=("amqp://guest:guest@127.0.0.1:$((RABBIT_PORT_BASE + n))/%2F"); done
  local IFS=,
  echo "${urls[*]}"
}

# The PostgreSQL URL of the APIs and workers: every node, in a random order for each new connection
# (so that a node that does not answer costs only half the connections its connect_timeout), with
# TCP keepalives and a TCP user timeout so that a connection to a node cut off by a partition fails
# within ~5 s instead of the kernel's 15 minutes: a creation whose commit was sent on it is then
# answered 503 (its outcome unknown), never left hanging. No statement_timeout, on purpose: a
# cancelled wait for the synchronous standby reports the commit as done although the standby may
# not have it.
pg_url() { # TARGET_SESSION_ATTRS
  local n hosts=()
  for n in "${PG_NODES[@]}"; do hosts+=("$(node_addr "$n"):$(pg_port "$n")"); done
  local IFS=,
  echo "postgresql://postgres@${hosts[*]}/pessoas?target_session_attrs=$1&connect_timeout=2&load_balance_hosts=random&keepalives=1&keepalives_idle=2&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=5000"
}

app_env() {
  # Writes, the count and the worker on the primary, whichever node it is.
  echo "PESSOAS_DATABASE_URL=$(pg_url read-write)"
  # Search and get-by-id on the standby while there is one, else on the primary.
  echo "PESSOAS_DATABASE_READ_URL=$(pg_url prefer-standby)"
  echo "PESSOAS_REDIS_URL=redis://127.0.0.1:$REDIS_PRIMARY/0"
  echo "PESSOAS_REDIS_SENTINELS=$(printf '127.0.0.1:%s,' "${SENTINEL_PORTS[@]}" | sed 's/,$//')"
  echo "PESSOAS_REDIS_SENTINEL_MASTER=pessoas"
  echo "PESSOAS_AMQP_URL=$(amqp_urls)"
  echo "PESSOAS_QUEUE_TYPE=quorum"
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

rabbit_prepare() { # the shared cookie and configuration, a directory per node
  mkdir -p "$RUN/rabbitmq"
  if [ ! -s "$RUN/rabbitmq/.erlang.cookie" ]; then
    head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$RUN/rabbitmq/.erlang.cookie"
    chmod 400 "$RUN/rabbitmq/.erlang.cookie"
  fi
  echo "[]." >"$RUN/rabbitmq/enabled_plugins" # no plugin: the service speaks AMQP only
  local n m
  for n in "${RABBIT_NODES[@]}"; do
    mkdir -p "$RUN/rabbitmq/c$n"
    {
      echo "# Written by deploy/cluster/cluster.sh: the three local nodes find each other from this list."
      echo "cluster_formation.peer_discovery_backend = classic_config"
      for m in "${RABBIT_NODES[@]}"; do echo "cluster_formation.classic_config.nodes.$m = rabbit-c$m@localhost"; done
      echo "cluster_partition_handling = pause_minority"
      echo "vm_memory_high_watermark.absolute = 256MiB"
      echo "disk_free_limit.absolute = 100MB"
    } >"$RUN/rabbitmq/c$n/rabbitmq.conf"
  done
}
# Node N's program: rabbitmq-server stays the main process and turns supervisord's SIGTERM into a
# graceful stop of its Erlang VM (whose pid the node writes to c$N/pid).
rabbit_command() {
  local var
  printf 'env'
  while read -r var; do printf ' "%s"' "$var"; done < <(rabbit_env "$1")
  echo " $RABBIT_SBIN/rabbitmq-server"
}
rabbit_answers() { tcp_open 127.0.0.1 $((RABBIT_PORT_BASE + $1)); }
rabbit_up() {
  local n
  for n in "${RABBIT_NODES[@]}"; do wait_for "RabbitMQ node c$n" "$PESSOAS_UP_TIMEOUT" rabbit_answers "$n"; done
  wait_for "three RabbitMQ nodes in one cluster" 120 rabbit_clustered
}
rabbit_clustered() {
  [ "$(rabbitctl 1 eval 'length(rabbit_nodes:all_running()).' 2>/dev/null)" = 3 ]
}

# --- Redis -------------------------------------------------------------------------------------
# A cache: nothing on disk, and at maxmemory any key may be evicted (a replica follows its
# primary's evictions). After a failover the Sentinels turn a returning old primary into a
# replica of the new one.

redis_port() { if [ "$1" = primary ]; then echo "$REDIS_PRIMARY"; else echo "$REDIS_REPLICA"; fi; }
redis_command() { # primary|replica
  local dir=$RUN/redis
  echo "redis-server --port $(redis_port "$1") --dir $dir/$1 --pidfile $dir/$1.pid --bind 127.0.0.1" \
    "--save \"\" --appendonly no --maxmemory $REDIS_MAXMEMORY --maxmemory-policy allkeys-lru --daemonize no" \
    "$([ "$1" = replica ] && echo "--replicaof 127.0.0.1 $REDIS_PRIMARY")"
}
redis_prepare() {
  local dir=$RUN/redis port
  mkdir -p "$dir/primary" "$dir/replica"
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
  done
}
redis_up() {
  local port
  wait_for "Redis primary" 30 redis_answers "$REDIS_PRIMARY"
  wait_for "Redis replica in sync" 30 redis_replica_linked "$REDIS_REPLICA"
  for port in "${SENTINEL_PORTS[@]}"; do
    wait_for "Sentinel $port sees the replica and the other Sentinels" 60 sentinel_ready "$port"
  done
}
redis_answers() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }
redis_replica_linked() { redis-cli -p "$1" info replication 2>/dev/null | grep -q 'master_link_status:up'; }
sentinel_ready() {
  local info
  info=$(redis-cli -p "$1" sentinel master pessoas 2>/dev/null | tr '\n' ' ')
  [[ $info == *"num-slaves 1 "* && $info == *"num-other-sentinels 2 "* ]]
}

# --- supervisord: every process of the cluster -------------------------------------------------

etcd_command() { # N
  local n=$1 addr members=() m
  addr=$(node_addr "$n")
  for m in "${ETCD_NODES[@]}"; do members+=("e$m=http://$(node_addr "$m"):$ETCD_PEER_PORT"); done
  # A 200 ms heartbeat and a 2 s election timeout (twice etcd's defaults): two cores shared with
  # everything else must not make the members elect leaders over and over. The v2 protocol is
  # Patroni's (see PATRONI above).
  echo "$ETCD --name e$n --data-dir $RUN/etcd/e$n" \
    "--listen-client-urls http://$addr:$ETCD_CLIENT_PORT --advertise-client-urls http://$addr:$ETCD_CLIENT_PORT" \
    "--listen-peer-urls http://$addr:$ETCD_PEER_PORT --initial-advertise-peer-urls http://$addr:$ETCD_PEER_PORT" \
    "--initial-cluster $(IFS=,; echo "${members[*]}") --initial-cluster-token pessoas-cluster" \
    "--initial-cluster-state new --heartbeat-interval 200 --election-timeout 2000" \
    "--enable-v2=true --logger zap --log-level warn"
}

app_command() { # api1..3, worker1..2
  local env_vars n=${1//[!0-9]/}
  mapfile -t env_vars < <(app_env)
  case $1 in
    api*) echo "env ${env_vars[*]} $PESSOAS serve --uds $RUN/api$n.sock --metrics-port ${API_METRICS_PORTS[n - 1]}" ;;
    worker*) echo "env ${env_vars[*]} $PESSOAS worker --metrics-port ${WORKER_METRICS_PORTS[n - 1]}" ;;
  esac
}


render() { # the Patroni configurations and supervisord's, under run/cluster/
  local n m dcs=() pg=() apps=() rabbits=() redis=(redis-primary redis-replica)
  for n in "${ETCD_NODES[@]}"; do dcs+=("etcd$n"); done
  for n in "${RABBIT_NODES[@]}"; do rabbits+=("rabbit$n"); done
  for n in "${SENTINEL_PORTS[@]}"; do redis+=("sentinel$n"); done
  for n in "${PG_NODES[@]}"; do
    pg+=("pg$n")
    fill "$ROOT/deploy/cluster/patroni.yml.in" NAME="pg$n" ADDRESS="$(node_addr "$n")" \
      PG_PORT="$(pg_port "$n")" API_PORT="$PATRONI_PORT" ETCD_PORT="$ETCD_CLIENT_PORT" \
      DATA_DIR="$RUN/pg/pg$n/data" SOCKET_DIR="$RUN/pg/pg$n" PG_BIN="$RUN/pg/bin" RUN="$RUN" \
      >"$RUN/pg/pg$n.yml"
  done
  for n in "${APIS[@]}"; do apps+=("api$n"); done
  for n in "${WORKERS[@]}"; do apps+=("worker$n"); done
  {
    fill "$ROOT/deploy/cluster/supervisord.conf.in" RUN="$RUN" LOGS="$LOGS" ROOT="$ROOT" \
      RABBIT_PROGRAMS="$(IFS=,; echo "${rabbits[*]}")" REDIS_PROGRAMS="$(IFS=,; echo "${redis[*]}")" \
      DCS_PROGRAMS="$(IFS=,; echo "${dcs[*]}")" PG_PROGRAMS="$(IFS=,; echo "${pg[*]}")" \
      APP_PROGRAMS="$(IFS=,; echo "${apps[*]}")"
    # The engines start with supervisord; `up` waits for each before it starts the application.
    for n in "${RABBIT_NODES[@]}"; do
      program "rabbit$n" "$(rabbit_command "$n")" AUTOSTART=true AUTORESTART=false STOP_TIMEOUT=60
    done
    for m in primary replica; do
      program "redis-$m" "$(redis_command $m)" AUTOSTART=true AUTORESTART=false
    done
    for n in "${SENTINEL_PORTS[@]}"; do
      program "sentinel$n" "redis-server $RUN/redis/sentinel-$n.conf --sentinel" AUTOSTART=true
    done
    for n in "${ETCD_NODES[@]}"; do program "etcd$n" "$(etcd_command "$n")" AUTOSTART=true; done
    # Patroni stops its PostgreSQL (fast shutdown) before exiting: it gets time for that.
    for n in "${PG_NODES[@]}"; do
      program "pg$n" "$PATRONI $RUN/pg/pg$n.yml" USER=postgres AUTOSTART=true STOP_TIMEOUT=90
    done
    for n in "${apps[@]}"; do program "$n" "$(app_command "$n")" STOP_TIMEOUT="$PESSOAS_STOP_TIMEOUT"; done
    program nginx "$(command -v nginx) -p $RUN/nginx/ -c $RUN/nginx/nginx.conf -e $LOGS/nginx-error.log -g \"daemon off; pid $RUN/nginx/nginx.pid; user root;\"" \
      PRIORITY=400 STOPSIGNAL=QUIT
  } >"$SUPERVISOR_CONF"
}

supervisorctl() { "$SUPERVISORCTL" -c "$SUPERVISOR_CONF" "$@"; }
supervisor_answers() { supervisorctl pid >/dev/null 2>&1; }


# --- PostgreSQL under Patroni, with etcd -------------------------------------------------------

ensure_packages() { # Patroni and etcd, Debian's (`partition` installs iptables when it is missing)
  local missing=()
  [ -x "$PATRONI" ] || missing+=(patroni)
  [ -x "$ETCD" ] || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  return 0
}

pg_prepare() {
  local n f
  mkdir -p "$RUN/pg" "$RUN/etcd" "$RUN/pg/bin"
  for n in "${PG_NODES[@]}"; do mkdir -p "$RUN/pg/pg$n"; done
  # Patroni's bin_dir: PostgreSQL's programs, but `postgres` first kills what a postmaster killed
  # outright left in its data directory (deploy/cluster/postgres_start.sh says why).
  for f in "$PG_BIN"/*; do ln -s "$f" "$RUN/pg/bin/"; done
  rm "$RUN/pg/bin/postgres"
  printf '#!/bin/sh\nexec %s %s "$@"\n' "$ROOT/deploy/cluster/postgres_start.sh" "$PG_BIN/postgres" >"$RUN/pg/bin/postgres"
  chmod 755 "$RUN/pg/bin/postgres"
  chown postgres: "$RUN/pg" # the nodes' directories, not bin/ (its links stay root's, as their targets)
  for n in "${PG_NODES[@]}"; do chown -R postgres: "$RUN/pg/pg$n"; done
  chmod 711 "$ROOT/run" "$RUN" # the postgres user must reach its directories under them
}

pg_state() { "$PYTHON" "$ROOT/deploy/cluster/patroni_state.py" "$@"; }
# Inside `up`: a failure that the ERR trap sees (it takes the half-started cluster down), unlike die.
fail() {
  log "ERROR: $*"
  return 1
}

etcd_healthy() {
  local n endpoints=()
  for n in "${ETCD_NODES[@]}"; do endpoints+=("http://$(node_addr "$n"):$ETCD_CLIENT_PORT"); done
  ETCDCTL_API=3 etcdctl --dial-timeout 2s --command-timeout 3s \
    --endpoints "$(IFS=,; echo "${endpoints[*]}")" endpoint health >/dev/null 2>&1
}

pg_create_database() {
  local leader host port
  leader=$(pg_state leader) || fail "no PostgreSQL primary"
  read -r _ host port <<<"$leader"
  if [ -z "$(psql -h "$host" -p "$port" -U postgres -d postgres -Atc \
    "SELECT 1 FROM pg_database WHERE datname = 'pessoas'" </dev/null)" ]; then
    psql -h "$host" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE pessoas" </dev/null
  fi
}

pg_up() {
  wait_for "etcd: three members, healthy" 90 etcd_healthy || fail "etcd did not form a cluster"
  # The first Patroni to take the initialize key runs initdb; the other clones it
  # (pg_basebackup) and becomes the synchronous standby once it streams.
  wait_for "Patroni: a primary and its synchronous standby, streaming" "$PESSOAS_UP_TIMEOUT" pg_state whole ||
    fail "no PostgreSQL primary with a synchronous standby after ${PESSOAS_UP_TIMEOUT}s ($(pg_state show 2>&1 | tr '\n' ' '))"
  pg_create_database
}

pg_leftovers_down() { # postgres instances a killed Patroni left running
  local n pid
  for n in "${PG_NODES[@]}"; do
    [ -f "$RUN/pg/pg$n/data/postmaster.pid" ] || continue
    pid=$(head -1 "$RUN/pg/pg$n/data/postmaster.pid" | tr -dc '0-9')
    if alive "$pid"; then
      log "pg$n: PostgreSQL left running without its Patroni: immediate stop"
      runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN/pg/pg$n/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
        kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  return 0
}

# partition N: every packet to or from node N's address dropped, on loopback (INPUT: each packet
# crosses it once on its way in). What is cut is every connection made *to* the node (its clients,
# its standby's replication, its Patroni's etcd member, its REST API): on loopback, a connection the
# node makes to another address leaves from 127.0.0.1, which these rules do not match.
partition() {
  local addr
  addr=$(node_addr "$1")
  command -v iptables >/dev/null || apt_install iptables
  iptables -w -I INPUT -i lo -s "$addr" -m comment --comment "$PARTITION_MARK" -j DROP
  iptables -w -I INPUT -i lo -d "$addr" -m comment --comment "$PARTITION_MARK" -j DROP
  log "partition: traffic to and from $addr dropped"
}
heal() { # removes every rule `partition` added, and only those
  command -v iptables >/dev/null || return 0
  local rule removed=0
  while read -r rule; do
    [ -n "$rule" ] || continue
    # shellcheck disable=SC2086 # the rule as iptables -S prints it, one word per argument
    iptables -w ${rule/#-A /-D } && removed=$((removed + 1))
  done < <(iptables -w -S INPUT 2>/dev/null | grep -F -- "--comment $PARTITION_MARK" || true)
  [ "$removed" = 0 ] || log "heal: $removed partition rules removed"
}


apps_up() {
  local -a env_vars
  mapfile -t env_vars < <(app_env)
  env "${env_vars[@]}" "$PESSOAS" migrate >>"$LOGS/migrate.log" 2>&1 ||
    { tail -n 20 "$LOGS/migrate.log" >&2; fail "pessoas migrate failed"; }
  supervisorctl start 'pessoas:*' >/dev/null
  mkdir -p "$RUN/nginx"
  ln -sfn "$ROOT/deploy/nginx/nginx.conf" "$RUN/nginx/nginx.conf"
  local n
  for n in "${APIS[@]}"; do echo "server unix:$RUN/api$n.sock max_fails=3 fail_timeout=2s;"; done \
    >"$RUN/nginx/upstream-servers.conf"
  supervisorctl start nginx >/dev/null
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

# --- commands ----------------------------------------------------------------------------------

up() {
  [ -x "$PESSOAS" ] || die "no $PESSOAS: run make unit first"
  [ -x "$SUPERVISORD" ] || die "no $SUPERVISORD: make cluster installs the stack set"
  [ ! -e "$RUN" ] || die "$RUN exists: a cluster is up or was not taken down (cluster.sh down)"
  tcp_open 127.0.0.1 9999 && die "something already listens on :9999"
  ensure_packages
  ensure_nginx
  mkdir -p "$LOGS"
  trap 'log "cluster up failed; logs kept in run/cluster-failed-logs/; taking it down"; keep_logs; down; exit 1' ERR
  rabbit_prepare
  redis_prepare
  pg_prepare
  render
  log "supervisord: RabbitMQ (three nodes), Redis (primary, replica, three Sentinels), etcd (three members), PostgreSQL 15 under Patroni (two nodes)"
  supervisor_start "$SUPERVISOR_CONF" "$RUN/supervisord.pid" "$LOGS/supervisord.log" "$CLUSTER_MARK"
  rabbit_up
  redis_up
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
  heal # a partition scenario that died halfway must not leave its rules behind
  [ -d "$RUN" ] || {
    log "no cluster under $RUN"
    return 0
  }
  # supervisord stops nginx, the application, each Patroni with its PostgreSQL, then the engines,
  # one group after the other, each program within its stopwaitsecs: it gets that long and more.
  stop_pid "$(pid_of "$RUN/supervisord.pid")" "supervisord (and all it runs)" $((2 * PESSOAS_STOP_TIMEOUT + 90 + 60 + 3 * 30 + 10))
  pg_leftovers_down
  # Whatever is left of this cluster and only of it (a supervisord killed outright, say).
  local pid
  for pid in $(marked_pids "$CLUSTER_MARK"); do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do [ -z "$(marked_pids "$CLUSTER_MARK")" ] && break; sleep 0.2; done
  for pid in $(marked_pids "$CLUSTER_MARK"); do
    log "still running after down: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80): SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$RUN"
  log "cluster down; $RUN removed"
}


status() {
  local n port
  for n in "${RABBIT_NODES[@]}"; do
    printf 'rabbit-c%s :%s %s\n' "$n" $((RABBIT_PORT_BASE + n)) "$(tcp_open 127.0.0.1 $((RABBIT_PORT_BASE + n)) && echo up || echo down)"
  done
  for port in "$REDIS_PRIMARY" "$REDIS_REPLICA"; do
    printf 'redis :%s %s\n' "$port" "$(redis-cli -p "$port" info replication 2>/dev/null | tr -d '\r' | sed -n 's/^role://p' || true)"
  done
  for port in "${SENTINEL_PORTS[@]}"; do
    printf 'sentinel :%s primary %s\n' "$port" "$(redis-cli -p "$port" sentinel get-master-addr-by-name pessoas 2>/dev/null | tr '\n' ' ')"
  done
  if supervisor_answers; then
    supervisorctl status 2>/dev/null | sed 's/^/supervisord: /' || true
  else
    echo "supervisord: not running"
  fi
  pg_state show 2>&1 | sed 's/^/patroni: /' || true
  iptables -w -S INPUT 2>/dev/null | grep -F -- "$PARTITION_MARK" | sed 's/^/partition rule: /' || true
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
  pg_state whole || die "PostgreSQL: no primary with a synchronous standby streaming: $(pg_state show | tr '\n' ' ')"
  log "Redis replica linked; PostgreSQL: $(pg_state show | tr '\n' ';')"
  "$PYTHON" "$ROOT/deploy/cluster/smoke.py" "${SMOKE_COUNT:-100}"
}

case "${1:-}" in
up) up ;;
# Used by the fault scenarios (tests/cluster_faults): start one node again after a fault, stop and
# start a PostgreSQL node (its Patroni stops its PostgreSQL), partition a node and heal.
start-rabbit) supervisorctl start "rabbitmq:rabbit$2" && wait_for "RabbitMQ node c$2" 120 rabbit_answers "$2" ;;
start-redis) supervisorctl start "redis:redis-$2" && wait_for "Redis $2" 30 redis_answers "$(redis_port "$2")" ;;
stop-pg) supervisorctl stop "postgres:$2" ;;
start-pg) supervisorctl start "postgres:$2" ;;
pg-state) pg_state json ;;
partition) partition "${2:?usage: $0 partition N (the node on 127.0.0.1N)}" ;;
heal) heal ;;
ctl) shift && supervisorctl "$@" ;; # supervisorctl on the cluster's supervisord
rabbitctl) shift && rabbitctl "$@" ;;
check) check ;;
down) down ;;
status) status ;;
env) app_env ;;
*) die "usage: $0 up|down|status|check|env|ctl ARGS" ;;
esac
