#!/usr/bin/env bash
# Start, stop and describe the real services the tests talk to: private instances on loopback, each
# on its own port with its own data dir, never the machine's system services.
#
#   scripts/services.sh up     [SERVICE…]  install if missing, initialise once, start (no-op if running)
#   scripts/services.sh down   [SERVICE…]  stop the instances this state dir started
#   scripts/services.sh env    [SERVICE…]  print the variables without starting anything
#   scripts/services.sh status [SERVICE…]  say what runs (exit 3 if something is not running)
#
# Services: mariadb (MySQL protocol; FASTLANE_TEST_MYSQL_*, port ${FASTLANE_MARIADB_PORT:-33306}),
# postgres (FASTLANE_TEST_POSTGRES_*, port ${FASTLANE_POSTGRES_PORT:-35432}), moto (S3, Firehose,
# CloudWatch Logs and Secrets Manager in one process; FASTLANE_TEST_AWS_*, port
# ${FASTLANE_MOTO_PORT:-35500}), victoriametrics (InfluxDB v2 write API; FASTLANE_TEST_INFLUX_URL,
# port ${FASTLANE_VICTORIAMETRICS_PORT:-38428}), mongodb (nx-27017; FASTLANE_TEST_MONGODB_*, port
# ${FASTLANE_MONGODB_PORT:-37017}), bigquery (bqemulator: REST and the Storage Read API over gRPC;
# FASTLANE_TEST_BIGQUERY_*, ports ${FASTLANE_BIGQUERY_PORT:-39050} and the next one).
#
# With no SERVICE, all of them. `up` and `env` print ONLY `export NAME=value` lines on stdout
# (progress goes to stderr), so a caller can do:
#
#   services_env="$(scripts/services.sh up)" && eval "$services_env"
#
# State lives in ${FASTLANE_SERVICES_DIR:-<repo>/.services}/<service>/ (data dir, log, pid file).
#
# Adding a service: append its name to SERVICES and write four functions, <name>_up, <name>_down,
# <name>_env and <name>_status, following mariadb_* below.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
STATE_DIR="${FASTLANE_SERVICES_DIR:-$REPO/.services}"
# Absolute and normalised: pid checks compare it with the servers' command lines, and PostgreSQL's
# programs run from another working directory.
STATE_DIR="$(realpath -m -- "$STATE_DIR")"
SERVICES=(mariadb postgres moto victoriametrics mongodb bigquery)

# Everything a command prints goes to stderr; only the `export` lines go to the real stdout, kept
# on fd 3. Background daemons must not inherit fd 3 (or stdout): a caller's `$(…)` waits until every
# writer of its pipe has closed, so a daemon holding it would hang the caller forever.
exec 3>&1 1>&2

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
emit() { printf 'export %s=%q\n' "$1" "$2" >&3; }

# Run a command with its output hidden, shown on stderr only if it fails.
quiet() {
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# Run as root directly, otherwise through sudo (only used for apt and /usr/sbin).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt-get install PACKAGE… without letting the packages start their system services: invoke-rc.d
# asks /usr/sbin/policy-rc.d first, and exit code 101 means "action forbidden". Whatever policy-rc.d
# was there before (Docker images ship one) is put back afterwards, even if the install fails.
apt_install_no_start() {
  local policy=/usr/sbin/policy-rc.d backup=/usr/sbin/policy-rc.d.fastlane-backup
  log "installing $* with apt-get (system services kept from starting)"
  (
    if as_root test -e "$policy"; then as_root mv "$policy" "$backup"; fi
    # shellcheck disable=SC2317  # called by the EXIT trap
    restore() {
      as_root rm -f "$policy"
      if as_root test -e "$backup"; then as_root mv "$backup" "$policy"; fi
    }
    trap restore EXIT
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  )
}

# Is PID alive and running with ARG on its command line? Guards against a stale pid file whose
# pid has since been reused by an unrelated process.
pid_runs_with() {
  local pid="$1" arg="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "$arg"
}

# Ports. A service takes FASTLANE_<SERVICE>_PORT when that is set (and fails loudly if the port is
# taken). Otherwise it takes the port its state dir recorded at an earlier start, else its default;
# when that port is held by something this state dir did not start (another checkout's services,
# an earlier session's, a system daemon), the next free span above it is used and recorded in
# <service>/port, so two checkouts on one machine never collide and `env`/`down` find it again.
port_taken() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
span_free() {
  local p
  for ((p = $1; p < $1 + $2; p++)); do
    if port_taken "$p"; then return 1; fi
  done
}
# Does a pid file under the service's state dir name a live process (our instance)?
service_alive() {
  local f pid
  while IFS= read -r f; do
    pid="$(head -n 1 "$f" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then return 0; fi
  done < <(find "$STATE_DIR/$1" -maxdepth 2 -name '*.pid' 2>/dev/null)
  return 1
}
# service_port NAME DEFAULT WIDTH EXPLICIT: the first of WIDTH consecutive ports the service uses.
service_port() {
  local name="$1" default="$2" width="$3" explicit="$4" file="$STATE_DIR/$1/port" port p
  if [ -n "$explicit" ]; then
    echo "$explicit"
    return
  fi
  port="$default"
  if [ -s "$file" ]; then port="$(cat "$file")"; fi
  if ! service_alive "$name" && ! span_free "$port" "$width"; then
    local taken="$port"
    port=""
    for ((p = default + 100; p < default + 3000; p += width)); do
      if span_free "$p" "$width"; then port="$p" && break; fi
    done
    [ -n "$port" ] || die "$name: port $taken is taken and no free port was found above $default"
    log "$name: port $taken is taken by another process; using $port (recorded in $file)"
  fi
  mkdir -p "$STATE_DIR/$name"
  if [ "$port" = "$default" ]; then rm -f "$file"; else echo "$port" >"$file"; fi
  echo "$port"
}

# Stop the daemon whose pid file is PIDFILE, if it is ours (MATCH is on its command line): TERM,
# then KILL after GRACE seconds. NAME and WHERE (its port or data dir) are for the log.
stop_daemon() {
  local name="$1" pidfile="$2" match="$3" where="$4" grace="${5:-10}" pid
  pid="$(if [ -s "$pidfile" ]; then cat "$pidfile"; fi)"
  if ! pid_runs_with "$pid" "$match"; then
    log "$name: nothing running on $where"
    rm -f "$pidfile"
    return
  fi
  log "$name: stopping pid $pid ($where)"
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
}

# ---------------------------------------------------------------------------------------------
# MariaDB (the MySQL-protocol service)
# ---------------------------------------------------------------------------------------------

MARIADB_PORT="$(service_port mariadb 33306 1 "${FASTLANE_MARIADB_PORT:-}")"
MARIADB_HOME="$STATE_DIR/mariadb"
MARIADB_DATA="$MARIADB_HOME/data"
MARIADB_LOG="$MARIADB_HOME/mariadbd.log"
MARIADB_PID="$MARIADB_HOME/mariadbd.pid"
MARIADB_SOCK="$MARIADB_DATA/mysqld.sock"
MARIADB_TLS="$MARIADB_HOME/tls"
# Written once mariadb-install-db has finished, so a half-initialised data dir is redone.
MARIADB_INITIALISED="$MARIADB_HOME/initialised"

# The clients read no option files (the system's /etc/mysql config points at the system server).
mariadb_tcp() { mariadb --no-defaults -h127.0.0.1 -P"$MARIADB_PORT" -uroot "$@"; }
mariadb_sock() { mariadb --no-defaults --socket="$MARIADB_SOCK" -uroot "$@"; }
mariadb_ping() {
  mariadb-admin --no-defaults -h127.0.0.1 -P"$MARIADB_PORT" -uroot --connect-timeout=2 ping \
    >/dev/null 2>&1
}

mariadb_pid() { if [ -s "$MARIADB_PID" ]; then cat "$MARIADB_PID"; fi; }

# Our instance runs: the pid file names a live mariadbd on our data dir.
mariadb_running() { pid_runs_with "$(mariadb_pid)" "--datadir=$MARIADB_DATA"; }

mariadb_install() {
  if command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null &&
    command -v mariadb >/dev/null && command -v mariadb-admin >/dev/null; then
    return
  fi
  # mariadbd lives in /usr/sbin, which a non-root PATH may lack.
  if [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null; then
    PATH="$PATH:/usr/sbin"
    return
  fi
  apt_install_no_start mariadb-server mariadb-client
  PATH="$PATH:/usr/sbin"
}

# A self-signed CA and a server certificate for 127.0.0.1/localhost signed by it, so clients can
# use TLS and verify the server (FASTLANE_TEST_MYSQL_CA). The extensions are what strict verifiers
# (rustls/webpki) insist on: a CA marked as one, a leaf that is not a CA, serverAuth, and a SAN.
mariadb_make_tls() {
  [ -s "$MARIADB_TLS/ca.pem" ] && [ -s "$MARIADB_TLS/server-cert.pem" ] &&
    [ -s "$MARIADB_TLS/server-key.pem" ] && return
  command -v openssl >/dev/null || die "openssl is needed to make the test TLS certificates"
  log "mariadb: generating a test CA and server certificate in $MARIADB_TLS"
  rm -rf "$MARIADB_TLS"
  mkdir -p "$MARIADB_TLS"
  (
    cd "$MARIADB_TLS"
    umask 077
    cat >openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    quiet openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 -config openssl.cnf \
      -extensions ca_ext -subj '/CN=fastlane test CA' -keyout ca-key.pem -out ca.pem
    quiet openssl req -new -newkey rsa:2048 -nodes -sha256 -config openssl.cnf \
      -subj '/CN=127.0.0.1' -keyout server-key.pem -out server.csr
    quiet openssl x509 -req -sha256 -days 3650 -in server.csr -CA ca.pem -CAkey ca-key.pem \
      -CAcreateserial -extfile openssl.cnf -extensions server_ext -out server-cert.pem
    rm -f server.csr ca.srl
    chmod 644 ca.pem server-cert.pem
  )
}

mariadb_init() {
  [ -e "$MARIADB_INITIALISED" ] && return
  log "mariadb: initialising a data dir in $MARIADB_DATA"
  rm -rf "$MARIADB_DATA"
  mkdir -p "$MARIADB_DATA"
  # --auth-root-authentication-method=normal: root gets an empty password instead of unix_socket
  # auth, so tests can log in as root over TCP.
  if ! mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$MARIADB_DATA" \
    --auth-root-authentication-method=normal --skip-test-db >"$MARIADB_HOME/install-db.log" 2>&1; then
    tail -n 30 "$MARIADB_HOME/install-db.log" >&2
    die "mariadb: mariadb-install-db failed (log: $MARIADB_HOME/install-db.log)"
  fi
  touch "$MARIADB_INITIALISED"
}

# Root with an empty password must work over TCP from 127.0.0.1. Depending on how the server
# resolves the client's host, that is root@localhost or root@127.0.0.1; grant the latter through
# the socket (which always matches root@localhost) if TCP login fails.
mariadb_ensure_tcp_root() {
  mariadb_tcp -e 'SELECT 1' >/dev/null 2>&1 && return
  log "mariadb: granting root@127.0.0.1 (via the socket)"
  mariadb_sock -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  mariadb_tcp -e 'SELECT 1' >/dev/null || die "mariadb: root still cannot log in over TCP"
}

# Wait until the server process PID answers; a ping alone could come from someone else on the port,
# so our pid file must name a live mariadbd too. On failure show the end of the error log.
mariadb_wait_ready() {
  local pid="$1" deadline=$((SECONDS + 60))
  until mariadb_running && mariadb_ping; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$MARIADB_LOG" >&2
      die "mariadb: mariadbd exited during startup (is port $MARIADB_PORT taken?)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$MARIADB_LOG" >&2
      die "mariadb: not answering on 127.0.0.1:$MARIADB_PORT after 60 s (pid $pid left running)"
    fi
    sleep 0.5
  done
}

mariadb_up() {
  if mariadb_running; then
    if mariadb_ping; then
      log "mariadb: already running (pid $(mariadb_pid), 127.0.0.1:$MARIADB_PORT)"
      mariadb_env
      return
    fi
    # Started but not answering yet (another `up` racing us, or a slow recovery): wait for it.
    mariadb_wait_ready "$(mariadb_pid)"
    mariadb_ensure_tcp_root
    mariadb_env
    return
  fi
  mariadb_install
  mkdir -p "$MARIADB_HOME"
  # A Unix socket path is limited to 107 bytes.
  [ "${#MARIADB_SOCK}" -lt 108 ] || die "mariadb: socket path too long: $MARIADB_SOCK (set FASTLANE_SERVICES_DIR shorter)"
  mariadb_make_tls
  mariadb_init
  rm -f "$MARIADB_PID"

  log "mariadb: starting on 127.0.0.1:$MARIADB_PORT (log: $MARIADB_LOG)"
  # setsid + nohup: the server outlives this script and the caller's terminal. All its fds point
  # away from our stdout/stderr and fd 3 (see the top of the file).
  nohup setsid mariadbd --no-defaults --user="$(id -un)" --datadir="$MARIADB_DATA" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --socket="$MARIADB_SOCK" \
    --pid-file="$MARIADB_PID" --log-error="$MARIADB_LOG" --skip-log-bin --local-infile=1 \
    --innodb-buffer-pool-size=1G --max-allowed-packet=256M \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --ssl-ca="$MARIADB_TLS/ca.pem" --ssl-cert="$MARIADB_TLS/server-cert.pem" \
    --ssl-key="$MARIADB_TLS/server-key.pem" \
    </dev/null >>"$MARIADB_LOG" 2>&1 3>&- &
  mariadb_wait_ready $!
  mariadb_ensure_tcp_root
  log "mariadb: up (pid $(mariadb_pid))"
  mariadb_env
}

mariadb_down() {
  local pid
  pid="$(mariadb_pid)"
  if ! mariadb_running; then
    log "mariadb: not running"
    rm -f "$MARIADB_PID"
    return
  fi
  log "mariadb: stopping pid $pid"
  # Through our own socket, so the request cannot reach any other server.
  mariadb-admin --no-defaults --socket="$MARIADB_SOCK" -uroot shutdown >/dev/null 2>&1 ||
    kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "mariadb: pid $pid still alive after 60 s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.5
  done
  rm -f "$MARIADB_PID"
  log "mariadb: stopped"
}

mariadb_env() {
  emit FASTLANE_TEST_MYSQL_URL "mysql://root@127.0.0.1:$MARIADB_PORT"
  emit FASTLANE_TEST_MYSQL_HOST 127.0.0.1
  emit FASTLANE_TEST_MYSQL_PORT "$MARIADB_PORT"
  emit FASTLANE_TEST_MYSQL_CA "$MARIADB_TLS/ca.pem"
}

mariadb_status() {
  if mariadb_running && mariadb_ping; then
    echo "mariadb: running (pid $(mariadb_pid), 127.0.0.1:$MARIADB_PORT, data $MARIADB_DATA)" >&3
  elif mariadb_running; then
    echo "mariadb: process up (pid $(mariadb_pid)) but not answering on 127.0.0.1:$MARIADB_PORT" >&3
    return 3
  else
    echo "mariadb: stopped" >&3
    return 3
  fi
}

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

# ---------------------------------------------------------------------------------------------
# moto (S3, Kinesis Firehose, CloudWatch Logs and Secrets Manager behind one endpoint)
# ---------------------------------------------------------------------------------------------

MOTO_VERSION=5.2.5
MOTO_PORT="$(service_port moto 35500 2 "${FASTLANE_MOTO_PORT:-}")"
MOTO_HOME="$STATE_DIR/moto"
MOTO_VENV="$STATE_DIR/venv-moto"
MOTO_PID="$MOTO_HOME/moto.pid"
MOTO_URL="http://127.0.0.1:$MOTO_PORT"

# A second instance checks signatures (moto's IAM auth): the tests' bad-credentials cases need a
# server that refuses them. Its first actions are free; they create the user whose keys the tests
# get, after which every request must be signed by a known key.
MOTO_AUTH_PORT="${FASTLANE_MOTO_AUTH_PORT:-$((MOTO_PORT + 1))}"
MOTO_AUTH_URL="http://127.0.0.1:$MOTO_AUTH_PORT"
MOTO_AUTH_KEYS="$MOTO_HOME/auth-keys"

moto_pid() { if [ -s "$MOTO_PID" ]; then cat "$MOTO_PID"; fi; }
moto_auth_pid() { if [ -s "$MOTO_HOME/moto-auth.pid" ]; then cat "$MOTO_HOME/moto-auth.pid"; fi; }
moto_running() { pid_runs_with "$(moto_pid)" "$MOTO_PORT"; }
moto_auth_running() { pid_runs_with "$(moto_auth_pid)" "$MOTO_AUTH_PORT"; }
moto_ping() { curl -fsS --max-time 2 "$MOTO_URL/moto-api/" >/dev/null 2>&1; }
moto_auth_ping() { [ -s "$MOTO_AUTH_KEYS" ] && curl -sS --max-time 2 -o /dev/null "$MOTO_AUTH_URL/moto-api/" 2>/dev/null; }

# Start one moto_server on PORT with its pid in PIDFILE (extra environment first).
moto_start() {
  local port="$1" pidfile="$2" url="http://127.0.0.1:$1"
  shift 2
  # Its own session, no stdin, and not fd 3 (see the top).
  env "$@" setsid "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" \
    </dev/null >>"$MOTO_HOME/moto-$port.log" 2>&1 3>&- &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + 60))
  until curl -sS --max-time 2 -o /dev/null "$url/moto-api/" 2>/dev/null; do
    if ! pid_runs_with "$(cat "$pidfile")" "$port"; then
      tail -n 30 "$MOTO_HOME/moto-$port.log" >&2
      die "moto: the server exited (is port $port taken? log: $MOTO_HOME/moto-$port.log)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "moto: not answering on $url after 60 s"
    sleep 0.3
  done
}

# An IAM query call to the checking instance while its free actions last.
moto_auth_iam() {
  curl -fsS --max-time 10 -X POST "$MOTO_AUTH_URL/" \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0' \
    --data "$1&Version=2010-05-08"
}

moto_auth_up() {
  if moto_auth_running && moto_auth_ping; then return; fi
  rm -f "$MOTO_AUTH_KEYS"
  log "moto: starting the signature-checking instance on $MOTO_AUTH_URL"
  moto_start "$MOTO_AUTH_PORT" "$MOTO_HOME/moto-auth.pid" INITIAL_NO_AUTH_ACTION_COUNT=2
  local answer id secret
  moto_auth_iam 'Action=CreateUser&UserName=fastlane-test' >/dev/null
  answer="$(moto_auth_iam 'Action=CreateAccessKey&UserName=fastlane-test')"
  id="$(sed -n 's:.*<AccessKeyId>\([^<]*\)</AccessKeyId>.*:\1:p' <<<"$answer")"
  secret="$(sed -n 's:.*<SecretAccessKey>\([^<]*\)</SecretAccessKey>.*:\1:p' <<<"$answer")"
  [ -n "$id" ] && [ -n "$secret" ] || die "moto: could not create the checking instance's test keys"
  printf '%s\n%s\n' "$id" "$secret" >"$MOTO_AUTH_KEYS"
}

moto_install() {
  command -v curl >/dev/null || die "moto: curl is needed to check the server"
  if [ "$("$MOTO_VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" = "$MOTO_VERSION" ]; then
    return
  fi
  log "moto: installing moto[server] $MOTO_VERSION into $MOTO_VENV"
  [ -x "$MOTO_VENV/bin/python" ] || python3 -m venv "$MOTO_VENV" ||
    die "moto: python3 -m venv failed (apt install python3-venv)"
  quiet "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

moto_up() {
  moto_install
  if moto_running && moto_ping && moto_auth_running && moto_auth_ping; then
    log "moto: already running (pid $(moto_pid), $MOTO_URL)"
    moto_env
    return
  fi
  mkdir -p "$MOTO_HOME"
  if ! moto_running || ! moto_ping; then
    log "moto: starting on $MOTO_URL (log: $MOTO_HOME/moto-$MOTO_PORT.log)"
    moto_start "$MOTO_PORT" "$MOTO_PID"
  fi
  moto_auth_up
  log "moto: up (pid $(moto_pid))"
  moto_env
}

moto_down() {
  local pidfile port
  for pidfile in "$MOTO_PID" "$MOTO_HOME/moto-auth.pid"; do
    port="$MOTO_PORT"
    [ "$pidfile" = "$MOTO_PID" ] || port="$MOTO_AUTH_PORT"
    stop_daemon moto "$pidfile" "$port" "port $port"
  done
  rm -f "$MOTO_AUTH_KEYS"
}

# Any credentials are accepted; the tests pass these explicitly.
moto_env() {
  emit FASTLANE_TEST_AWS_ENDPOINT "$MOTO_URL"
  emit FASTLANE_TEST_AWS_REGION us-east-1
  emit FASTLANE_TEST_AWS_ACCESS_KEY_ID fastlane-test
  emit FASTLANE_TEST_AWS_SECRET_ACCESS_KEY fastlane-test-secret
  if [ -s "$MOTO_AUTH_KEYS" ]; then
    emit FASTLANE_TEST_AWS_AUTH_ENDPOINT "$MOTO_AUTH_URL"
    emit FASTLANE_TEST_AWS_AUTH_ACCESS_KEY_ID "$(sed -n 1p "$MOTO_AUTH_KEYS")"
    emit FASTLANE_TEST_AWS_AUTH_SECRET_ACCESS_KEY "$(sed -n 2p "$MOTO_AUTH_KEYS")"
  fi
}

moto_status() {
  if moto_running && moto_ping && moto_auth_running && moto_auth_ping; then
    echo "moto: running (pid $(moto_pid), $MOTO_URL; signature-checking instance pid $(moto_auth_pid), $MOTO_AUTH_URL)" >&3
  else
    echo "moto: stopped" >&3
    return 3
  fi
}

# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# VictoriaMetrics (the InfluxDB v2 write API: line protocol on /api/v2/write; the tests read back
# through /api/v1/export after /internal/force_flush)
# ---------------------------------------------------------------------------------------------
#
# Started with a 100-year retention so tests may write any past time (the default keeps one
# month and drops older points silently), and without deduplication, so that a point written
# twice shows as two samples.

VICTORIAMETRICS_PORT="$(service_port victoriametrics 38428 1 "${FASTLANE_VICTORIAMETRICS_PORT:-}")"
VICTORIAMETRICS_HOME="$STATE_DIR/victoriametrics"
VICTORIAMETRICS_DATA="$VICTORIAMETRICS_HOME/data"
VICTORIAMETRICS_PID="$VICTORIAMETRICS_HOME/victoria-metrics.pid"
VICTORIAMETRICS_LOG="$VICTORIAMETRICS_HOME/victoria-metrics.log"
VICTORIAMETRICS_URL="http://127.0.0.1:$VICTORIAMETRICS_PORT"

victoriametrics_pid() { if [ -s "$VICTORIAMETRICS_PID" ]; then cat "$VICTORIAMETRICS_PID"; fi; }
victoriametrics_running() { pid_runs_with "$(victoriametrics_pid)" "-storageDataPath=$VICTORIAMETRICS_DATA"; }
victoriametrics_ping() { curl -fsS --max-time 2 "$VICTORIAMETRICS_URL/health" >/dev/null 2>&1; }

victoriametrics_install() {
  command -v curl >/dev/null || die "victoriametrics: curl is needed to check the server"
  if command -v victoria-metrics >/dev/null; then return; fi
  # Debian's package (1.79); apt_install_no_start keeps its system service from starting.
  apt_install_no_start victoria-metrics
  command -v victoria-metrics >/dev/null ||
    die "victoriametrics: the victoria-metrics package installed no victoria-metrics binary"
}

victoriametrics_up() {
  victoriametrics_install
  if victoriametrics_running && victoriametrics_ping; then
    log "victoriametrics: already running (pid $(victoriametrics_pid), $VICTORIAMETRICS_URL)"
    victoriametrics_env
    return
  fi
  mkdir -p "$VICTORIAMETRICS_DATA"
  log "victoriametrics: starting on $VICTORIAMETRICS_URL (log: $VICTORIAMETRICS_LOG)"
  # Its own session, no stdin, and not fd 3 (see the top).
  setsid victoria-metrics -httpListenAddr="127.0.0.1:$VICTORIAMETRICS_PORT" \
    -storageDataPath="$VICTORIAMETRICS_DATA" -retentionPeriod=100y -loggerLevel=WARN \
    </dev/null >>"$VICTORIAMETRICS_LOG" 2>&1 3>&- &
  echo $! >"$VICTORIAMETRICS_PID"
  local deadline=$((SECONDS + 60))
  until victoriametrics_ping; do
    if ! victoriametrics_running; then
      tail -n 30 "$VICTORIAMETRICS_LOG" >&2
      die "victoriametrics: the server exited (is port $VICTORIAMETRICS_PORT taken? log: $VICTORIAMETRICS_LOG)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "victoriametrics: not answering on $VICTORIAMETRICS_URL after 60 s"
    sleep 0.3
  done
  log "victoriametrics: up (pid $(victoriametrics_pid))"
  victoriametrics_env
}

victoriametrics_down() {
  stop_daemon victoriametrics "$VICTORIAMETRICS_PID" "-storageDataPath=$VICTORIAMETRICS_DATA" \
    "port $VICTORIAMETRICS_PORT"
}

# Org, bucket and token are accepted and ignored by the server.
victoriametrics_env() {
  emit FASTLANE_TEST_INFLUX_URL "$VICTORIAMETRICS_URL"
}

victoriametrics_status() {
  if victoriametrics_running && victoriametrics_ping; then
    echo "victoriametrics: running (pid $(victoriametrics_pid), $VICTORIAMETRICS_URL)" >&3
  else
    echo "victoriametrics: stopped" >&3
    return 3
  fi
}

# ---------------------------------------------------------------------------------------------
# MongoDB wire protocol: nx-27017 (a MongoDB-protocol server over SQLite; no mongod is installable
# here). Known gaps (see connectors/src/source/mongodb/tests.rs): no Decimal128/regex/timestamp
# inserts, small longs come back as ints, integer `_id`s sort as text, no authentication.
# ---------------------------------------------------------------------------------------------

MONGODB_VERSION=0.8.1
MONGODB_PORT="$(service_port mongodb 37017 1 "${FASTLANE_MONGODB_PORT:-}")"
MONGODB_HOME="$STATE_DIR/mongodb"
MONGODB_DATA="$MONGODB_HOME/data"
MONGODB_VENV="$STATE_DIR/venv-mongodb"
MONGODB_PID="$MONGODB_HOME/nx-27017.pid"
MONGODB_LOG="$MONGODB_HOME/nx-27017.log"
MONGODB_URI="mongodb://127.0.0.1:$MONGODB_PORT"

mongodb_pid() { if [ -s "$MONGODB_PID" ]; then cat "$MONGODB_PID"; fi; }
# Our instance runs: the pid file names a live nx-27017 on our data dir.
mongodb_running() { pid_runs_with "$(mongodb_pid)" "$MONGODB_DATA"; }
# Answers a `ping` command (pymongo comes with nx-27017).
mongodb_ping() {
  "$MONGODB_VENV/bin/python" - "$MONGODB_URI" >/dev/null 2>&1 <<'PY'
import sys, pymongo
pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=2000).admin.command("ping")
PY
}

mongodb_install() {
  if [ "$("$MONGODB_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("nx-27017"))' 2>/dev/null)" = "$MONGODB_VERSION" ]; then
    return
  fi
  log "mongodb: installing nx-27017 $MONGODB_VERSION into $MONGODB_VENV"
  [ -x "$MONGODB_VENV/bin/python" ] || python3 -m venv "$MONGODB_VENV" ||
    die "mongodb: python3 -m venv failed (apt install python3-venv)"
  quiet "$MONGODB_VENV/bin/pip" install -q --disable-pip-version-check "nx-27017==$MONGODB_VERSION"
}

mongodb_up() {
  mongodb_install
  if mongodb_running && mongodb_ping; then
    log "mongodb: already running (pid $(mongodb_pid), $MONGODB_URI)"
    mongodb_env
    return
  fi
  mkdir -p "$MONGODB_DATA"
  log "mongodb: starting nx-27017 on $MONGODB_URI (log: $MONGODB_LOG)"
  # Its own session, no stdin, and not fd 3 (see the top). The server writes its own pid file
  # only as a daemon; we keep ours.
  setsid "$MONGODB_VENV/bin/nx-27017" --host 127.0.0.1 -p "$MONGODB_PORT" \
    --data-dir "$MONGODB_DATA" --log-file "$MONGODB_LOG" --pid-file "$MONGODB_HOME/nx-own.pid" \
    </dev/null >>"$MONGODB_HOME/nx-27017.out" 2>&1 3>&- &
  echo $! >"$MONGODB_PID"
  local deadline=$((SECONDS + 60))
  until mongodb_ping; do
    if ! mongodb_running; then
      tail -n 30 "$MONGODB_HOME/nx-27017.out" >&2
      die "mongodb: nx-27017 exited (is port $MONGODB_PORT taken? log: $MONGODB_LOG)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "mongodb: not answering on $MONGODB_URI after 60 s"
    sleep 0.3
  done
  log "mongodb: up (pid $(mongodb_pid))"
  mongodb_env
}

mongodb_down() {
  stop_daemon mongodb "$MONGODB_PID" "$MONGODB_DATA" "port $MONGODB_PORT"
}

# No authentication: the URI carries no credentials.
mongodb_env() {
  emit FASTLANE_TEST_MONGODB_URI "$MONGODB_URI"
  emit FASTLANE_TEST_MONGODB_HOST 127.0.0.1
  emit FASTLANE_TEST_MONGODB_PORT "$MONGODB_PORT"
}

mongodb_status() {
  if mongodb_running && mongodb_ping; then
    echo "mongodb: running (pid $(mongodb_pid), $MONGODB_URI, nx-27017 $MONGODB_VERSION)" >&3
  else
    echo "mongodb: stopped" >&3
    return 3
  fi
}

# ---------------------------------------------------------------------------------------------
# BigQuery emulator (bqemulator: the REST API and the Storage Read API's gRPC service, on DuckDB)
# ---------------------------------------------------------------------------------------------

BIGQUERY_VERSION=1.4.0
BIGQUERY_DUCKDB_VERSION=1.5.5
BIGQUERY_NUMPY_VERSION=2.4.6
BIGQUERY_PORT="$(service_port bigquery 39050 2 "${FASTLANE_BIGQUERY_PORT:-}")"
BIGQUERY_GRPC_PORT="$((BIGQUERY_PORT + 1))"
BIGQUERY_HOME="$STATE_DIR/bigquery"
BIGQUERY_VENV="$STATE_DIR/venv-bigquery"
BIGQUERY_DATA="$BIGQUERY_HOME/data"
# The server's own HOME: DuckDB looks for its extensions under $HOME/.duckdb, where the spatial
# (GEOGRAPHY) and avro (Avro loads) extensions are copied from their PyPI packages, so the server
# never tries to download one.
BIGQUERY_PRIVATE_HOME="$BIGQUERY_HOME/home"
BIGQUERY_PID="$BIGQUERY_HOME/bqemulator.pid"
BIGQUERY_LOG="$BIGQUERY_HOME/bqemulator.log"
BIGQUERY_URL="http://127.0.0.1:$BIGQUERY_PORT"
BIGQUERY_PROJECT=local

bigquery_pid() { if [ -s "$BIGQUERY_PID" ]; then cat "$BIGQUERY_PID"; fi; }
bigquery_running() { pid_runs_with "$(bigquery_pid)" "$BIGQUERY_PORT"; }
# Ready when the REST API lists the project's datasets and the gRPC port accepts connections
# (fd 5: fd 3 carries the `export` lines).
bigquery_ping() {
  curl -fsS --max-time 2 "$BIGQUERY_URL/bigquery/v2/projects/$BIGQUERY_PROJECT/datasets" \
    >/dev/null 2>&1 &&
    bash -c "exec 5<>/dev/tcp/127.0.0.1/$BIGQUERY_GRPC_PORT" 2>/dev/null
}

bigquery_install() {
  command -v curl >/dev/null || die "bigquery: curl is needed to check the server"
  local want="$BIGQUERY_VERSION $BIGQUERY_DUCKDB_VERSION $BIGQUERY_DUCKDB_VERSION $BIGQUERY_DUCKDB_VERSION"
  local have
  have="$("$BIGQUERY_VENV/bin/python" -c 'import importlib.metadata as m
print(m.version("bqemulator"), m.version("duckdb"), m.version("duckdb-extension-spatial"),
      m.version("duckdb-extension-avro"))' 2>/dev/null || true)"
  if [ "$have" != "$want" ]; then
    log "bigquery: installing bqemulator $BIGQUERY_VERSION (DuckDB $BIGQUERY_DUCKDB_VERSION) into $BIGQUERY_VENV"
    [ -x "$BIGQUERY_VENV/bin/python" ] || python3 -m venv "$BIGQUERY_VENV" ||
      die "bigquery: python3 -m venv failed (apt install python3-venv)"
    quiet "$BIGQUERY_VENV/bin/pip" install -q --disable-pip-version-check \
      "bqemulator==$BIGQUERY_VERSION" "duckdb==$BIGQUERY_DUCKDB_VERSION" \
      "numpy==$BIGQUERY_NUMPY_VERSION" "duckdb-extension-spatial==$BIGQUERY_DUCKDB_VERSION" \
      "duckdb-extension-avro==$BIGQUERY_DUCKDB_VERSION"
  fi
  local platform dir extension source
  platform="$("$BIGQUERY_VENV/bin/python" -c 'import duckdb; print(duckdb.sql("PRAGMA platform").fetchone()[0])')" ||
    die "bigquery: cannot ask DuckDB for its platform"
  dir="$BIGQUERY_PRIVATE_HOME/.duckdb/extensions/v$BIGQUERY_DUCKDB_VERSION/$platform"
  mkdir -p "$dir"
  for extension in spatial avro; do
    [ -s "$dir/$extension.duckdb_extension" ] && continue
    source="$("$BIGQUERY_VENV/bin/python" -c "import pathlib, duckdb_extension_$extension as s
print(next(pathlib.Path(s.__file__).parent.rglob('$extension.duckdb_extension')))")" ||
      die "bigquery: duckdb-extension-$extension holds no $extension.duckdb_extension"
    cp "$source" "$dir/$extension.duckdb_extension"
  done
}

bigquery_up() {
  bigquery_install
  if bigquery_running && bigquery_ping; then
    log "bigquery: already running (pid $(bigquery_pid), $BIGQUERY_URL)"
    bigquery_env
    return
  fi
  # Up but not answering (a half-started instance): start over.
  if bigquery_running; then bigquery_down; fi
  mkdir -p "$BIGQUERY_DATA" "$BIGQUERY_PRIVATE_HOME"
  log "bigquery: starting on $BIGQUERY_URL, gRPC 127.0.0.1:$BIGQUERY_GRPC_PORT (log: $BIGQUERY_LOG)"
  # Its own session, no stdin, and not fd 3 (see the top).
  env HOME="$BIGQUERY_PRIVATE_HOME" setsid "$BIGQUERY_VENV/bin/bqemulator" start \
    --rest-host 127.0.0.1 --rest-port "$BIGQUERY_PORT" \
    --grpc-host 127.0.0.1 --grpc-port "$BIGQUERY_GRPC_PORT" \
    --persistent --data-dir "$BIGQUERY_DATA" --project "$BIGQUERY_PROJECT" --log-level warning \
    </dev/null >>"$BIGQUERY_LOG" 2>&1 3>&- &
  echo $! >"$BIGQUERY_PID"
  local deadline=$((SECONDS + 90))
  until bigquery_ping; do
    if ! bigquery_running; then
      tail -n 30 "$BIGQUERY_LOG" >&2
      die "bigquery: the server exited (are ports $BIGQUERY_PORT/$BIGQUERY_GRPC_PORT taken? log: $BIGQUERY_LOG)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "bigquery: not answering on $BIGQUERY_URL after 90 s"
    sleep 0.3
  done
  log "bigquery: up (pid $(bigquery_pid))"
  bigquery_env
}

bigquery_down() {
  stop_daemon bigquery "$BIGQUERY_PID" "$BIGQUERY_PORT" "port $BIGQUERY_PORT" 15
}

# No credentials: the emulator takes none, and the source sends none to an `endpoint` override.
bigquery_env() {
  emit FASTLANE_TEST_BIGQUERY_ENDPOINT "$BIGQUERY_URL"
  emit FASTLANE_TEST_BIGQUERY_GRPC "http://127.0.0.1:$BIGQUERY_GRPC_PORT"
  emit FASTLANE_TEST_BIGQUERY_PROJECT "$BIGQUERY_PROJECT"
}

bigquery_status() {
  if bigquery_running && bigquery_ping; then
    echo "bigquery: running (pid $(bigquery_pid), $BIGQUERY_URL, gRPC 127.0.0.1:$BIGQUERY_GRPC_PORT, data $BIGQUERY_DATA)" >&3
  elif bigquery_running; then
    echo "bigquery: process up (pid $(bigquery_pid)) but not answering on $BIGQUERY_URL" >&3
    return 3
  else
    echo "bigquery: stopped" >&3
    return 3
  fi
}

usage() {
  printf 'usage: %s up|down|env|status [SERVICE…]\nservices: %s\n' "$0" "${SERVICES[*]}" >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  local cmd="$1"
  shift
  case "$cmd" in
    up | down | env | status) ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
  local wanted=("$@") svc s known
  [ ${#wanted[@]} -gt 0 ] || wanted=("${SERVICES[@]}")
  for svc in "${wanted[@]}"; do
    known=0
    for s in "${SERVICES[@]}"; do [ "$s" = "$svc" ] && known=1; done
    [ "$known" = 1 ] || die "unknown service '$svc' (known: ${SERVICES[*]})"
  done

  local rc=0
  for svc in "${wanted[@]}"; do
    if [ "$cmd" = status ]; then
      "${svc}_status" || rc=$?
    else
      "${svc}_$cmd"
    fi
  done
  return "$rc"
}

main "$@"
