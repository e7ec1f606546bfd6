# shellcheck shell=bash
# Shared by bench/api.sh and scripts/fuzz-api.sh: start a `fastlane serve` on a free loopback port,
# call it with curl, stop it. Source it after defining `log` and `die`; it uses $TMP for scratch.
#
#   monitor_start BINARY DATABASE_URL LOG_FILE [serve options…]   sets SERVER_PID and BASE
#   monitor_call EXPECTED_STATUS METHOD PATH [JSON]                dies unless the status matches;
#                                                                  sends MONITOR_TOKEN when set
#   monitor_stop                                                   SIGTERM, then SIGKILL after 5 s
#   monitor_cleanup                                                monitor_stop, then remove $TMP
#                                                                  (the caller's EXIT trap)

SERVER_PID=""
BASE=""

monitor_start() {
  local binary=$1 database_url=$2 server_log=$3 port deadline
  shift 3
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  BASE="http://127.0.0.1:$port"
  # FASTLANE_API_TOKEN from the caller's environment would turn auth on: only "$@" decides.
  env -u FASTLANE_API_TOKEN "$binary" serve --bind "127.0.0.1:$port" --database-url "$database_url" "$@" \
    </dev/null >"$server_log" 2>&1 &
  SERVER_PID=$!
  deadline=$((SECONDS + 30))
  until curl -fsS --max-time 2 -o /dev/null "$BASE/healthz" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$server_log" >&2
      die "the server exited during startup (log above)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      cat "$server_log" >&2
      die "no 200 from $BASE/healthz after 30 s (log above)"
    fi
    sleep 0.2
  done
}

monitor_call() {
  local expected=$1 method=$2 path=$3 body=${4:-} status
  local args=(-sS -o "$TMP/response" -w '%{http_code}' -X "$method")
  [ -z "${MONITOR_TOKEN:-}" ] || args+=(-H "Authorization: Bearer $MONITOR_TOKEN")
  [ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
  status=$(curl "${args[@]}" "$BASE$path") || die "$method $path: curl failed"
  if [ "$status" != "$expected" ]; then
    printf '%s\n' "$(cat "$TMP/response")" >&2
    die "$method $path answered $status, expected $expected"
  fi
}

monitor_stop() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}

monitor_cleanup() {
  monitor_stop
  rm -rf "$TMP"
}
