# Sourced by scripts/services.sh (which see): the mariadb test service — mariadb_up, mariadb_down,
# mariadb_env and mariadb_status, built on the helpers of scripts/services/lib.sh.
# shellcheck shell=bash

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
