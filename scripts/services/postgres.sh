# Sourced by scripts/services.sh (which see): the postgres test service — postgres_up, postgres_down,
# postgres_env and postgres_status, built on the helpers of scripts/services/lib.sh.
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
# A private cluster of Debian's PostgreSQL (the newest /usr/lib/postgresql/*/bin), never the
# system cluster on 5432: its own data dir, port, Unix socket dir and log under $STATE_DIR. The
# superuser is `fastlane`, trusted without a password, and the server listens on 127.0.0.1 only.
# PostgreSQL refuses to run as root: as root, initdb/pg_ctl/postgres run as the `postgres` system
# user (which then owns $STATE_DIR/postgres); as anyone else, as that user.

POSTGRES_PORT="$(service_port postgres 35432 1 "${FASTLANE_POSTGRES_PORT:-}")"
POSTGRES_HOME="$STATE_DIR/postgres"
POSTGRES_DATA="$POSTGRES_HOME/data"
POSTGRES_LOG="$POSTGRES_HOME/postgres.log"
POSTGRES_SOCK_DIR="$POSTGRES_HOME/run"
# Written once initdb has finished, so a half-initialised data dir is redone.
POSTGRES_INITIALISED="$POSTGRES_HOME/initialised"
POSTGRES_USER=fastlane
POSTGRES_BIN=""

# The newest installed server's bin dir (Debian keeps initdb/pg_ctl/postgres off PATH).
postgres_find_bin() {
  local dir best="" version best_version=0
  for dir in /usr/lib/postgresql/*/bin; do
    if ! [ -x "$dir/initdb" ] || ! [ -x "$dir/pg_ctl" ] || ! [ -x "$dir/postgres" ] ||
      ! [ -x "$dir/pg_isready" ]; then
      continue
    fi
    version="$(basename "$(dirname "$dir")")"
    case "$version" in *[!0-9]* | '') continue ;; esac
    if [ "$version" -gt "$best_version" ]; then
      best="$dir"
      best_version="$version"
    fi
  done
  POSTGRES_BIN="$best"
  [ -n "$best" ]
}

postgres_install() {
  postgres_find_bin && return
  # Installing creates (but, with apt_install_no_start, does not start) the system cluster; we
  # never use it.
  apt_install_no_start postgresql
  postgres_find_bin || die "postgres: no /usr/lib/postgresql/*/bin/initdb after installing postgresql"
}

postgres_as_root() { [ "$(id -u)" -eq 0 ]; }

# Run a PostgreSQL server program as the user that owns the cluster, from a directory it can read
# (initdb and postgres complain when they cannot access the working directory).
postgres_run() {
  if postgres_as_root; then
    (cd "$POSTGRES_HOME" && runuser -u postgres -- "$@")
  else
    (cd "$POSTGRES_HOME" && "$@")
  fi
}

# Hand paths we created to the cluster's owner.
postgres_own() {
  if postgres_as_root; then chown -R postgres:postgres "$@"; fi
}

postgres_pid() {
  if [ -s "$POSTGRES_DATA/postmaster.pid" ]; then head -n 1 "$POSTGRES_DATA/postmaster.pid"; fi
}

# Our instance runs: postmaster.pid names a live postgres started on our data dir (pg_ctl starts
# it as `postgres -D DATA`).
postgres_running() { pid_runs_with "$(postgres_pid)" "$POSTGRES_DATA"; }

postgres_ping() {
  "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d postgres -t 2
}

# The settings that may change between runs (the port comes from the environment) live in a file
# of their own, rewritten on every start and included from postgresql.conf.
postgres_write_conf() {
  local q="'" qq="''"
  cat >"$POSTGRES_DATA/fastlane.conf" <<EOF
# Written by scripts/services.sh on every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '${POSTGRES_SOCK_DIR//$q/$qq}'
max_connections = 200
# A disposable test instance: durability is not worth the fsyncs (CREATE DATABASE, commits).
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  postgres_own "$POSTGRES_DATA/fastlane.conf"
}

postgres_init() {
  [ -e "$POSTGRES_INITIALISED" ] && return
  log "postgres: initialising a data dir in $POSTGRES_DATA"
  rm -rf "$POSTGRES_DATA"
  if ! postgres_run "$POSTGRES_BIN/initdb" -D "$POSTGRES_DATA" -U "$POSTGRES_USER" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$POSTGRES_HOME/initdb.log" 2>&1; then
    tail -n 30 "$POSTGRES_HOME/initdb.log" >&2
    die "postgres: initdb failed (log: $POSTGRES_HOME/initdb.log)"
  fi
  # Trust, but only over our own socket and from 127.0.0.1 (the server listens nowhere else).
  cat >"$POSTGRES_DATA/pg_hba.conf" <<'EOF'
# Written by scripts/services.sh: a private test instance, passwordless on loopback only.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
  printf "\ninclude 'fastlane.conf'\n" >>"$POSTGRES_DATA/postgresql.conf"
  postgres_own "$POSTGRES_DATA"
  touch "$POSTGRES_INITIALISED"
}

# Wait until our postmaster answers; pg_isready alone could hear someone else on the port.
postgres_wait_ready() {
  local deadline=$((SECONDS + 60))
  until postgres_running && postgres_ping; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$POSTGRES_LOG" >&2
      die "postgres: not answering on 127.0.0.1:$POSTGRES_PORT after 60 s"
    fi
    sleep 0.5
  done
}

postgres_up() {
  postgres_install
  if postgres_running; then
    if postgres_ping; then
      log "postgres: already running (pid $(postgres_pid), 127.0.0.1:$POSTGRES_PORT)"
    else
      # Started but not answering yet (another `up` racing us, or crash recovery): wait for it.
      postgres_wait_ready
    fi
    postgres_env
    return
  fi
  mkdir -p "$POSTGRES_HOME"
  chmod 755 "$POSTGRES_HOME"
  postgres_own "$POSTGRES_HOME"
  if postgres_as_root && ! runuser -u postgres -- test -w "$POSTGRES_HOME"; then
    die "postgres: the postgres user cannot reach $POSTGRES_HOME (a parent dir is not searchable by others; set FASTLANE_SERVICES_DIR elsewhere)"
  fi
  # A Unix socket path is limited to 107 bytes.
  local sock="$POSTGRES_SOCK_DIR/.s.PGSQL.$POSTGRES_PORT"
  [ "${#sock}" -lt 108 ] || die "postgres: socket path too long: $sock (set FASTLANE_SERVICES_DIR shorter)"
  postgres_init
  mkdir -p "$POSTGRES_SOCK_DIR"
  postgres_own "$POSTGRES_SOCK_DIR"
  postgres_write_conf

  log "postgres: starting on 127.0.0.1:$POSTGRES_PORT (log: $POSTGRES_LOG)"
  # pg_ctl -w returns once the server accepts connections. The postmaster it forks gets its own
  # session, stdin from /dev/null and the log as output, and must not inherit fd 3 (see the top).
  if ! postgres_run "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -l "$POSTGRES_LOG" -w -t 60 start \
    </dev/null >>"$POSTGRES_HOME/pg_ctl.log" 2>&1 3>&-; then
    tail -n 30 "$POSTGRES_LOG" >&2
    die "postgres: pg_ctl start failed (is port $POSTGRES_PORT taken? log: $POSTGRES_LOG)"
  fi
  postgres_wait_ready
  log "postgres: up (pid $(postgres_pid))"
  postgres_env
}

postgres_down() {
  if ! postgres_running; then
    log "postgres: not running"
    return
  fi
  local pid
  pid="$(postgres_pid)"
  log "postgres: stopping pid $pid"
  # pg_ctl on our data dir signals only the postmaster named in its postmaster.pid.
  if ! postgres_find_bin ||
    ! postgres_run "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -m fast -w -t 60 stop \
      </dev/null >>"$POSTGRES_HOME/pg_ctl.log" 2>&1 3>&-; then
    log "postgres: pg_ctl stop failed, sending SIGQUIT to pid $pid"
    kill -QUIT "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "postgres: pid $pid still alive after 30 s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
        break
      fi
      sleep 0.5
    done
  fi
  log "postgres: stopped"
}

postgres_env() {
  emit FASTLANE_TEST_POSTGRES_URL "postgres://$POSTGRES_USER@127.0.0.1:$POSTGRES_PORT/postgres"
  emit FASTLANE_TEST_POSTGRES_HOST 127.0.0.1
  emit FASTLANE_TEST_POSTGRES_PORT "$POSTGRES_PORT"
}

postgres_status() {
  if postgres_running && postgres_find_bin && postgres_ping; then
    echo "postgres: running (pid $(postgres_pid), 127.0.0.1:$POSTGRES_PORT, data $POSTGRES_DATA)" >&3
  elif postgres_running; then
    echo "postgres: process up (pid $(postgres_pid)) but not answering on 127.0.0.1:$POSTGRES_PORT" >&3
    return 3
  else
    echo "postgres: stopped" >&3
    return 3
  fi
}
