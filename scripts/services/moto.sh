# Sourced by scripts/services.sh (which see): the moto test service — moto_up, moto_down,
# moto_env and moto_status, built on the helpers of scripts/services/lib.sh.
# shellcheck shell=bash

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
