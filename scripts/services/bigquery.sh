# Sourced by scripts/services.sh (which see): the bigquery test service — bigquery_up, bigquery_down,
# bigquery_env and bigquery_status, built on the helpers of scripts/services/lib.sh.
# shellcheck shell=bash

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
