#!/usr/bin/env bash
# Backup and restore of the stack's PostgreSQL: pg_dump's custom format, then pg_restore.
#
#   deploy/local/backup.sh backup FILE [PG_DUMP_OPTION...]
#       Dumps the database of PESSOAS_DATABASE_URL (default: the local stack's,
#       postgresql://pessoas@127.0.0.1:5433/pessoas) into FILE while the service runs: pg_dump reads
#       one consistent snapshot (every pessoa committed before it began, none of those committed
#       after, whole transactions only) and blocks no creation. FILE appears only complete (written
#       beside it, then renamed), readable by its owner only. Extra options go to pg_dump.
#
#   deploy/local/backup.sh restore FILE DATABASE_URL
#       Restores FILE into DATABASE_URL's database, created when missing; refused when it already
#       holds a pessoas table. One transaction: the database ends up whole or unchanged. Then it
#       indexes for search the pessoas that the snapshot held but the worker had not indexed yet
#       (their transaction ids come from the old server, which the reconciler may never reach on
#       a new one), and analyzes the tables. Serve it by pointing the
#       services' PESSOAS_DATABASE_URL at it (the local stack always serves its database
#       `pessoas`: restore under that name, docs/operations.md, "Backup and restore").
#
#   deploy/local/backup.sh list FILE
#       What FILE holds (pg_restore --list).
#
# The same commands work against any PostgreSQL the service uses, given its URL: for example
#   PESSOAS_DATABASE_URL=postgresql://pessoas@db.internal:5432/pessoas deploy/local/backup.sh backup pessoas.dump
#   deploy/local/backup.sh restore pessoas.dump postgresql://pessoas@127.0.0.1:5433/pessoas_restored
# pg_dump must be of the server's major version or newer (Debian: postgresql-client-15).
#
# Moving pessoas between the embedded SQLite storage and PostgreSQL is `pessoas export` /
# `pessoas import` instead (JSON lines); a SQLite file is copied with `pessoas backup FILE`.
set -euo pipefail

: "${PESSOAS_DATABASE_URL:=postgresql://pessoas@127.0.0.1:5433/pessoas}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$ROOT/deploy/local/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The pessoas that the snapshot holds but its search table does not: the statement the
# reconciler runs, without its bounds on transaction ids.
INDEX_UNINDEXED="
INSERT INTO pessoas_search (id, apelido, nome, nascimento, stack, search)
SELECT p.id, p.apelido, p.nome, p.nascimento, p.stack, pessoas_search_text(p.apelido, p.nome, p.stack)
FROM pessoas AS p
WHERE NOT EXISTS (SELECT 1 FROM pessoas_search AS s WHERE s.id = p.id)
ON CONFLICT (id) DO NOTHING"

backup() {
  local file=$1
  shift
  local partial="$file.partial"
  umask 077
  log "pg_dump of $(url_part "$PESSOAS_DATABASE_URL" path) into $file"
  if ! pg_dump --format=custom --no-owner --no-privileges --file="$partial" "$@" "$PESSOAS_DATABASE_URL" </dev/null; then
    rm -f "$partial"
    die "pg_dump failed; nothing written to $file"
  fi
  mv "$partial" "$file"
  log "backup written: $file ($(stat -c %s "$file") bytes)"
}

restore() {
  local file=$1 target=$2 admin name
  [ -r "$file" ] || die "cannot read $file"
  admin=$(url_part "$target" admin)
  name=$(url_part "$target" path)
  [ -n "$name" ] || die "$target names no database"
  if [ -z "$(psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '${name//\'/\'\'}'" </dev/null)" ]; then
    log "creating database $name"
    psql "$admin" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${name//\"/\"\"}\"" </dev/null
  elif [ "$(psql "$target" -tAc "SELECT to_regclass('pessoas') IS NOT NULL" </dev/null)" = t ]; then
    die "database $name already holds a pessoas table; restore into a new database"
  fi
  log "pg_restore of $file into $name"
  pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$target" "$file" </dev/null
  local indexed
  indexed=$(psql "$target" -qtA -v ON_ERROR_STOP=1 -c "WITH added AS ($INDEX_UNINDEXED RETURNING 1) SELECT count(*) FROM added" </dev/null)
  psql "$target" -q -v ON_ERROR_STOP=1 -c "ANALYZE pessoas; ANALYZE pessoas_search" </dev/null
  log "restored: $(psql "$target" -tAc 'SELECT count(*) FROM pessoas' </dev/null) pessoas; $indexed indexed for search after the restore"
}

case "${1:-}" in
  backup)
    [ $# -ge 2 ] || usage
    shift
    backup "$@"
    ;;
  restore)
    [ $# -eq 3 ] || usage
    restore "$2" "$3"
    ;;
  list)
    [ $# -eq 2 ] || usage
    pg_restore --list "$2"
    ;;
  *) usage ;;
esac
