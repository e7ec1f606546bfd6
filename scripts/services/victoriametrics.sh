# Sourced by scripts/services.sh (which see): the victoriametrics test service — victoriametrics_up, victoriametrics_down,
# victoriametrics_env and victoriametrics_status, built on the helpers of scripts/services/lib.sh.
# shellcheck shell=bash

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
