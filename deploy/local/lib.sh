# shellcheck shell=bash
# Shell functions shared by deploy/local/stack.sh, deploy/cluster/cluster.sh and .ci/run (source it;
# bash only).
#
# The backing services are the machine's own (python-svc kind): PostgreSQL, Redis and RabbitMQ
# from Debian's packages. These functions install a missing one, start a stopped one with the
# same command the machine uses at boot, and wait until it answers. They never stop anything.

: "${PESSOAS_DATABASE_URL:=postgresql://root@127.0.0.1:5432/pessoas}"
: "${PESSOAS_REDIS_URL:=redis://127.0.0.1:6379/0}"
: "${PESSOAS_AMQP_URL:=amqp://guest:guest@127.0.0.1:5672/%2F}"
# Not exported here: .ci/run must not hand these to the test suite (stack.sh exports them).
export DEBIAN_FRONTEND=noninteractive
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac

log() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }
die() {
  printf '%s ERROR: %s\n' "[$(date +%H:%M:%S)]" "$*" >&2
  exit 1
}

# url_part URL FIELD: host, port (with the scheme's default), path (without the leading /), vhost
url_part() {
  python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

url, field = sys.argv[1], sys.argv[2]
u = urlsplit(url)
defaults = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "amqp": 5672}
if field == "host":
    print(u.hostname or "127.0.0.1")
elif field == "port":
    print(u.port or defaults.get(u.scheme, 0))
elif field == "path":
    print(u.path.lstrip("/"))
elif field == "vhost":
    print(unquote(u.path[1:]) if len(u.path) > 1 else "/")
elif field == "admin":  # the same PostgreSQL URL on the maintenance database
    print(u._replace(path="/postgres").geturl())
PY
}

_apt_updated=""
apt_install() {
  [ "$(id -u)" = 0 ] || die "installing $* needs root (apt-get)"
  if [ -z "$_apt_updated" ]; then
    log "apt-get update"
    apt-get update -q </dev/null >/dev/null || die "apt-get update failed"
    _apt_updated=1
  fi
  log "apt-get install -y $*"
  apt-get install -y -q --no-install-recommends "$@" </dev/null >/dev/null ||
    die "apt-get install $* failed"
}

# wait_for WHAT SECONDS COMMAND...: poll COMMAND every 0.5 s until it succeeds.
wait_for() {
  local what=$1 seconds=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
  log "$what is up"
}

tcp_open() { timeout 2 bash -c ": </dev/tcp/$1/$2" 2>/dev/null; }

PG_ADMIN_URL=$(url_part "$PESSOAS_DATABASE_URL" admin)
PG_DATABASE=$(url_part "$PESSOAS_DATABASE_URL" path)
AMQP_HOST=$(url_part "$PESSOAS_AMQP_URL" host)
AMQP_PORT=$(url_part "$PESSOAS_AMQP_URL" port)
# shellcheck disable=SC2034 # used by stack.sh
AMQP_VHOST=$(url_part "$PESSOAS_AMQP_URL" vhost)

postgres_up() { pg_isready -q -t 2 -d "$PG_ADMIN_URL"; }
redis_up() { [ "$(timeout 3 redis-cli -u "$PESSOAS_REDIS_URL" ping 2>/dev/null)" = PONG ]; }
rabbitmq_up() { tcp_open "$AMQP_HOST" "$AMQP_PORT"; }

ensure_postgres() {
  local fresh=""
  if ! command -v pg_ctlcluster >/dev/null || ! compgen -G '/etc/postgresql/*/main' >/dev/null; then
    apt_install postgresql postgresql-contrib
    fresh=1
  fi
  if ! postgres_up; then
    log "PostgreSQL is not answering: starting it"
    # shellcheck disable=SC2046 # the machine's own command, word for word
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start </dev/null ||
      log "pg_ctlcluster start failed (already starting?); waiting anyway"
  fi
  wait_for PostgreSQL 60 postgres_up ||
    die "PostgreSQL does not answer at $PG_ADMIN_URL after 60 s (logs: /var/log/postgresql/)"
  if [ -n "$fresh" ]; then
    # As this kind of machine has it: trust on loopback, a superuser role root, a database root.
    local hba
    hba=$(runuser -u postgres -- psql -tAc 'SHOW hba_file' </dev/null)
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    runuser -u postgres -- psql -q -c 'SELECT pg_reload_conf()' </dev/null >/dev/null
    runuser -u postgres -- psql -q -c 'CREATE ROLE root SUPERUSER LOGIN' </dev/null >/dev/null 2>&1 || true
    runuser -u postgres -- createdb -O root root </dev/null >/dev/null 2>&1 || true
  fi
}

# ensure_database: creates the database named in PESSOAS_DATABASE_URL when it is missing.
ensure_database() {
  local db=$PG_DATABASE
  if [ -z "$(psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" </dev/null)" ]; then
    log "creating database $db"
    psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE \"$db\"" </dev/null || die "cannot create database $db"
  fi
}

# The machine's Redis, shared with the tests: started (when it does not answer) as the machine
# starts it, nothing persisted, its memory unbounded. The service uses it as a cache only, so
# nothing here sets maxmemory on a server others use too; see deploy/README.md for bounding it.
ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  if ! redis_up; then
    log "Redis is not answering: starting it"
    mkdir -p /var/lib/redis /var/log/redis
    # shellcheck disable=SC2086 # REDIS_EXTRA_ARGS: more arguments, word for word (stack.sh redis-start)
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log ${REDIS_EXTRA_ARGS:-} </dev/null ||
      log "redis-server failed to start; waiting anyway"
  fi
  wait_for Redis 30 redis_up ||
    die "Redis does not answer at $PESSOAS_REDIS_URL after 30 s (log: /var/log/redis/ci.log)"
}

ensure_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  if ! rabbitmq_up; then
    log "RabbitMQ is not answering: starting it (takes a few seconds)"
    rabbitmq-server -detached </dev/null || log "rabbitmq-server -detached failed; waiting anyway"
  fi
  wait_for RabbitMQ 120 rabbitmq_up ||
    die "RabbitMQ does not answer on $AMQP_HOST:$AMQP_PORT after 120 s (logs: /var/log/rabbitmq/)"
  # AMQP only: nothing reads RabbitMQ's management API, so its plugin is not enabled here.
}

ensure_services() {
  ensure_postgres
  ensure_redis
  ensure_rabbitmq
}

ensure_nginx() {
  command -v nginx >/dev/null || apt_install nginx
  command -v nginx >/dev/null || die "nginx is still missing after apt-get install nginx"
}

# --- supervisord: what deploy/local/stack.sh and deploy/cluster/cluster.sh share ---------------

# fill TEMPLATE NAME=VALUE...: the template with each @NAME@ replaced (% doubled, as supervisord's
# ini wants). The pattern and the replacement are quoted: unquoted, bash 5.2 puts the matched
# @NAME@ in place of each & of a value (patsub_replacement; URLs and `a && b` have some).
fill() {
  local text key value pair
  text=$(<"$1")
  shift
  for pair in "$@"; do
    key=${pair%%=*} value=${pair#*=}
    text=${text//"@$key@"/"${value//%/%%}"}
  done
  printf '%s\n' "$text"
}

alive() { # PID: running (a zombie, not yet reaped, counts as gone)
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
pid_of() { if [ -s "$1" ]; then tr -dc '0-9' <"$1"; fi; }

# Long-lived children must not keep the caller's descriptors beyond stdin/stdout/stderr: under
# `flock /tmp/pessoas-machine.lock make stack` they would hold the lock for as long as they run.
close_inherited_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# marked_pids MARK=VALUE: the processes whose environment holds it. Each script sets its mark in
# supervisord's environment, so every process of its tree carries it, whatever it forks or
# execs: `down` finds what a supervisord killed outright left, and nothing else.
marked_pids() {
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/} pid=${pid%/environ}
    [ "$pid" != "$$" ] && [ "$pid" != "$BASHPID" ] || continue
    grep -qzxF "$1" "$environ" 2>/dev/null && echo "$pid"
  done
  return 0
}

# stop_pid PID WHAT SECONDS: SIGTERM, wait until it is gone, SIGKILL after SECONDS.
stop_pid() {
  local pid=$1 what=$2 deadline=$((SECONDS + $3))
  alive "$pid" || return 0
  log "stopping $what (pid $pid, SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$what still runs after $3 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
}

# supervisor_start CONF PIDFILE LOG MARK=VALUE [JOIN_COMMAND...]: supervisord in the background,
# in a session of its own (a Ctrl-C where the script ran does not reach it), with no inherited
# descriptor and the mark in its environment. JOIN_COMMAND, when given, runs first in the shell
# that then becomes supervisord (the envelope's cgroups): all it starts is born there.
supervisor_start() {
  local conf=$1 pidfile=$2 logfile=$3 mark=$4
  shift 4
  (
    if [ "$#" -gt 0 ]; then "$@" "$BASHPID"; fi
    close_inherited_fds
    export "${mark?}"
    exec setsid "$SUPERVISORD" -c "$conf" </dev/null >>"$logfile" 2>&1
  ) &
  echo $! >"$pidfile" # supervisord writes the same pid there itself once it runs
  wait_for supervisord 30 "$SUPERVISORCTL" -c "$conf" pid || {
    log "ERROR: supervisord did not start (log: $logfile)"
    return 1
  }
}

# program NAME COMMAND [KEY=VALUE...]: one [program:NAME] from deploy/local/program.conf.in, with
# the defaults below (LOGS from the caller).
program() {
  local name=$1 command=$2
  shift 2
  # The caller's KEY=VALUEs first: the first replacement of each @KEY@ is the one that counts.
  fill "$ROOT/deploy/local/program.conf.in" "$@" NAME="$name" COMMAND="$command" LOGS="$LOGS" \
    USER="$(id -un)" AUTOSTART=false AUTORESTART=true PRIORITY=500 STOPSIGNAL=TERM \
    STOP_TIMEOUT="${PESSOAS_STOP_TIMEOUT:-30}"
}
