# Sourced by scripts/services.sh (which see): the mongodb test service — mongodb_up, mongodb_down,
# mongodb_env and mongodb_status, built on the helpers of scripts/services/lib.sh.
# shellcheck shell=bash

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
