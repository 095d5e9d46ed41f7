#!/usr/bin/env bash
# A private PostgreSQL 15 + pgvector cluster for humans: start | stop | status | url.
# Same layout as src/platform/postgres-server.ts: trust auth on 127.0.0.1 only, no Unix socket,
# database `bakeoff`, superuser `postgres`; under root the server runs as the `postgres` OS user.
#   BAKEOFF_PG_DIR   cluster directory (default $BAKEOFF_HOME/pg)
#   BAKEOFF_PG_PORT  loopback port     (default 54329)
PROVISION_PART=pg-cluster
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN="${BAKEOFF_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR="${BAKEOFF_PG_DIR:-$BAKEOFF_HOME/pg}"
PG_PORT="${BAKEOFF_PG_PORT:-54329}"
PG_DATABASE=bakeoff
OS_USER="${BAKEOFF_PG_OS_USER:-postgres}"

usage() { echo "usage: $0 start|stop|status|url" >&2; exit 2; }

# Runs a PostgreSQL tool as the cluster's owner (PostgreSQL refuses root, pg_ctl even for status).
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd "$PG_DIR" && runuser -u "$OS_USER" -- "$@")
  else
    (cd "$PG_DIR" && "$@")
  fi
}

running_port() {
  [ -f "$PG_DIR/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" status -D "$PG_DIR" >/dev/null 2>&1 \
    && sed -n 4p "$PG_DIR/postmaster.pid"
}

url_for() { echo "postgresql://postgres@127.0.0.1:$1/$PG_DATABASE"; }

start() {
  if [ -n "${DATABASE_URL:-}" ]; then
    log "DATABASE_URL is set ($DATABASE_URL): bakeoff uses that server, no private cluster started"
    return 0
  fi
  bash "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then
    id -u "$OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER" \
      || die "cannot create OS user '$OS_USER' to own the cluster"
    chown "$OS_USER:" "$PG_DIR"
    runuser -u "$OS_USER" -- test -w "$PG_DIR" \
      || die "OS user '$OS_USER' cannot reach $PG_DIR (a parent directory is not searchable): set BAKEOFF_PG_DIR"
  fi
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    log "initdb $PG_DIR"
    as_owner "$PG_BIN/initdb" -D "$PG_DIR" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-instructions >&2 \
      || die "initdb failed for $PG_DIR"
  fi
  local port
  if port=$(running_port); then
    log "already running on port $port"
  else
    log "pg_ctl start on 127.0.0.1:$PG_PORT (log: $PG_DIR/postgres.log)"
    as_owner "$PG_BIN/pg_ctl" start -D "$PG_DIR" -l "$PG_DIR/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=''" >&2 \
      || { tail -20 "$PG_DIR/postgres.log" >&2; die "PostgreSQL did not start (is port $PG_PORT taken? set BAKEOFF_PG_PORT)"; }
    port=$PG_PORT
  fi
  if ! as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'" | grep -q 1; then
    as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $PG_DATABASE" \
      || die "could not create database $PG_DATABASE"
  fi
  url_for "$port"
}

stop() {
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then log "no cluster at $PG_DIR"; return 0; fi
  if running_port >/dev/null; then
    as_owner "$PG_BIN/pg_ctl" stop -D "$PG_DIR" -m fast -w -t 60 >&2 || die "pg_ctl stop failed"
  else
    log "not running ($PG_DIR)"
  fi
}

status() {
  local port
  if port=$(running_port); then
    echo "running: $(url_for "$port") (dir $PG_DIR)"
  elif [ -f "$PG_DIR/PG_VERSION" ]; then
    echo "stopped (dir $PG_DIR)"; return 3
  else
    echo "no cluster (dir $PG_DIR)"; return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) port=$(running_port) || die "not running: $0 start"; url_for "$port" ;;
  *) usage ;;
esac
