#!/usr/bin/env bash
# Fuzz the monitoring API from its own OpenAPI document with schemathesis and fail on any server
# error (or other failed check). Starts `fastlane serve` on a free loopback port with a token and a
# fresh database, then runs schemathesis twice. Before each pass it seeds (with curl) a fresh
# pipeline with a running and a finished run, each with a metric sample and a log line, so ids
# exist and list/GET responses carry real objects:
#
#   1. with `Authorization: Bearer <token>`: every operation; path ids are the seeded pipeline/run
#      half the time (so writes reach the database), generated otherwise (the metrics stream gets
#      the finished run, whose stream ends). Checks: no 5xx, status codes / content types / bodies
#      as documented, auth enforced where the document declares it.
#   2. without the token: only POST/PUT/PATCH/DELETE, mostly on the seeded ids; every answer must
#      be a 4xx (and none a 5xx).
#
#   scripts/fuzz-api.sh [DATABASE_URL]
#
# DATABASE_URL defaults to a fresh SQLite file in a temp dir. Give an empty database of your own
# (e.g. postgres://fastlane@127.0.0.1:35432/fl_fuzz), or the word `postgres` for a fresh
# `fl_fuzz_api` database on the private PostgreSQL of scripts/services.sh.
#
# Environment:
#   FASTLANE_BIN          server binary (default: target/release/fastlane, built with cargo first)
#   FUZZ_MAX_EXAMPLES     generated cases per operation in pass 1 (default 50; pass 2 gets a fifth)
#   FUZZ_SEED             schemathesis seed (default 20261122), for reproducible runs
#   FUZZ_WORKERS          concurrent schemathesis workers (default 1, see below)
#   FUZZ_CHECKS           pass-1 checks, comma-separated (default below; `all` for every built-in)
#   FUZZ_OUT              where reports and the server log go (default target/fuzz-api)
#
# schemathesis is installed into ${FASTLANE_SERVICES_DIR:-<repo>/.services}/venv-fuzz if missing.
# Exit status: 0 when both passes found nothing, 1 otherwise (a summary is printed either way).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-50}
SEED=${FUZZ_SEED:-20261122}
# One worker: with two threads, CPython 3.11's ast module (which Hypothesis calls to describe
# strategies) intermittently raises "SystemError: AST constructor recursion depth mismatch", and
# schemathesis reports it as a runtime error of the operation. Generation is CPU-bound Python
# under the GIL anyway, so a second worker bought little (on 2 cores, next to the server).
WORKERS=${FUZZ_WORKERS:-1}
CHECKS=${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth}
OUT=${FUZZ_OUT:-$REPO/target/fuzz-api}
VENV=${FASTLANE_SERVICES_DIR:-$REPO/.services}/venv-fuzz
DATABASE_URL=${1:-}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------------
command -v curl >/dev/null || die "curl is needed"
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
if [ -n "${FASTLANE_BIN:-}" ]; then
  FASTLANE=$FASTLANE_BIN
else
  cargo build --release --bin fastlane
  FASTLANE=$REPO/target/release/fastlane
fi
[ -x "$FASTLANE" ] || die "no server binary at $FASTLANE"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fastlane-fuzz.XXXXXX")
# shellcheck source=scripts/lib/monitor.sh
source scripts/lib/monitor.sh
trap monitor_cleanup EXIT

# --- database ------------------------------------------------------------------------------------
case "$DATABASE_URL" in
  "")
    DATABASE_URL="sqlite://$TMP/fuzz.db?mode=rwc"
    DB_LABEL=SQLite
    ;;
  postgres)
    services_env="$(bash scripts/services.sh up postgres)"
    eval "$services_env"
    log "creating a fresh database fl_fuzz_api"
    psql -q -v ON_ERROR_STOP=1 "$FASTLANE_TEST_POSTGRES_URL" \
      -c 'DROP DATABASE IF EXISTS fl_fuzz_api' -c 'CREATE DATABASE fl_fuzz_api' >&2
    DATABASE_URL="postgres://fastlane@$FASTLANE_TEST_POSTGRES_HOST:$FASTLANE_TEST_POSTGRES_PORT/fl_fuzz_api"
    DB_LABEL=PostgreSQL
    ;;
  postgres://* | postgresql://*) DB_LABEL=PostgreSQL ;;
  sqlite:*) DB_LABEL=SQLite ;;
  *) DB_LABEL=$DATABASE_URL ;;
esac

# --- server --------------------------------------------------------------------------------------
TOKEN="fuzz-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
SERVER_LOG=$OUT/server.log
monitor_start "$FASTLANE" "$DATABASE_URL" "$SERVER_LOG" --token "$TOKEN"
log "$FASTLANE serve runs on $BASE ($DB_LABEL; log: $SERVER_LOG)"
log "server up: $(curl -fsS "$BASE/healthz")"

# --- seed data -----------------------------------------------------------------------------------
# api EXPECTED_STATUS METHOD PATH [JSON]: one authorised call; dies unless the status matches.
api() { MONITOR_TOKEN=$TOKEN monitor_call "$@"; }
curl -fsS "$BASE/openapi.json" -o "$OUT/openapi.json" || die "no OpenAPI document at $BASE/openapi.json"

# seed NAME PROBABILITY: create pipeline fuzz-NAME with a finished and a running run (each with a
# metric sample and a log line), and write $TMP/NAME.toml, the schemathesis config of that pass:
# every path parameter that follows a `pipelines` or `runs` segment takes the seeded id with
# PROBABILITY (otherwise whatever schemathesis generates). Each pass gets its own fresh objects,
# since pass 1 may delete or finish the ones it was given. An event stream is read until it ends
# or the request timeout passes, so the stream of a running run would cost the whole timeout on
# every request: stream paths get the finished run, and a short timeout.
seed() {
  local name=$1 probability=$2 pipeline=fuzz-$1 run finished now
  run=$(python3 -c 'import uuid; print(uuid.uuid4())')
  finished=$(python3 -c 'import uuid; print(uuid.uuid4())')
  now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
  log "seeding pipeline $pipeline with runs $run (running) and $finished (completed)"
  api 201 PUT "/api/v1/pipelines/$pipeline" \
    '{"source_type":"mysql","target_type":"s3","target_id":"lake/orders","config":{"batch_size":1000}}'
  for id in "$finished" "$run"; do
    api 201 POST "/api/v1/pipelines/$pipeline/runs" \
      "{\"id\":\"$id\",\"status\":\"running\",\"replication_mode\":\"FULL_TABLE\"}"
    api 201 POST "/api/v1/runs/$id/metrics" "[{\"at\":\"$now\",\"rows_extracted\":10,\"rows_transformed\":10,
      \"rows_loaded\":5,\"extract_rows_per_s\":100.5,\"transform_rows_per_s\":99.0,\"load_rows_per_s\":50.0,
      \"extract_bytes_per_s\":4096.0,\"rss_bytes\":1048576,\"queue_to_transform\":1,\"queue_to_target\":0,
      \"wasm_ms_per_batch\":0.5}]"
    api 201 POST "/api/v1/runs/$id/logs" \
      "[{\"at\":\"$now\",\"level\":\"info\",\"origin\":\"fastlane\",\"message\":\"seeded by fuzz-api.sh\"}]"
  done
  api 200 PATCH "/api/v1/runs/$finished" "{\"status\":\"completed\",\"finished_at\":\"$now\",
    \"rows_extracted\":10,\"rows_transformed\":10,\"rows_loaded\":10,\"end_offset\":\"10\"}"
  api 200 GET "/api/v1/runs/$run"

  python3 - "$OUT/openapi.json" "$probability" "$pipeline" "$run" "$finished" >"$TMP/$name.toml" <<'PY'
import json, re, sys
doc, probability, pipeline_id, run_id, finished_run_id = json.load(open(sys.argv[1])), *sys.argv[2:]
print("request-timeout = 10")
for name, value in [("pipeline", pipeline_id), ("run", run_id), ("finished_run", finished_run_id)]:
    print(f"[dictionaries.fastlane_{name}]")
    print(f"values = [{json.dumps(value)}]")
bound = 0
for path in sorted(doc.get("paths", {})):
    stream = path.rstrip("/").endswith("/stream")
    runs = "fastlane_finished_run" if stream else "fastlane_run"
    bindings = {}
    for collection, name in re.findall(r"([^/{}]+)/\{([^}]+)\}", path):
        dictionary = {"pipelines": "fastlane_pipeline", "runs": runs}.get(collection)
        if dictionary:
            bindings[name] = dictionary
    if not bindings and not stream:
        continue
    bound += 1
    inner = ", ".join(f'{json.dumps("path." + name)} = {{ dictionary = "{d}", probability = {probability} }}'
                      for name, d in bindings.items())
    print()
    print("[[operations]]")
    print(f"include-path = {json.dumps(path)}")
    if bindings:
        print(f"parameters = {{ {inner} }}")
    if stream:
        print("request-timeout = 3")
print(f"{len(doc.get('paths', {}))} paths in the OpenAPI document, {bound} with seeded ids",
      file=sys.stderr)
PY
  cp "$TMP/$name.toml" "$OUT/$name.toml"
}

# The extra check of pass 2 (custom checks run only when named in --checks).
cat >"$TMP/fastlane_fuzz_hooks.py" <<'PY'
import schemathesis


@schemathesis.check
def writes_need_token(ctx, response, case):
    """Without the bearer token, every write must be refused with a 4xx."""
    if case.method.upper() in {"POST", "PUT", "PATCH", "DELETE"} and not 400 <= response.status_code < 500:
        raise AssertionError(
            f"{case.method.upper()} {case.path} without the token answered {response.status_code}, expected a 4xx"
        )
PY

# --- fuzz ----------------------------------------------------------------------------------------
# run_pass NAME [schemathesis run options…]: one schemathesis run with $TMP/NAME.toml; appends
# "NAME RC" to $TMP/results.
run_pass() {
  local name=$1 rc=0
  shift
  log "schemathesis, $name"
  (
    cd "$TMP" # schemathesis looks for schemathesis.toml from the cwd up; keep it to ours
    PYTHONPATH="$TMP" SCHEMATHESIS_HOOKS=fastlane_fuzz_hooks \
      "$VENV/bin/schemathesis" --config-file "$TMP/$name.toml" run "$BASE/openapi.json" \
      --origin "$BASE" --seed "$SEED" --workers "$WORKERS" --generation-database none \
      --no-color --report junit --report-junit-path "$OUT/$name.junit.xml" "$@"
  ) 2>&1 | tee "$OUT/$name.log" || rc=$?
  echo "$name $rc" >>"$TMP/results"
}
started=$SECONDS
seed with-token 0.5
run_pass with-token --checks "$CHECKS" --max-examples "$MAX_EXAMPLES" \
  --header "Authorization: Bearer $TOKEN" --exclude-path-regex '/stream$'
# The live stream on its own: poem-openapi documents an event stream as an array of its events
# (format event-stream) and schemathesis validates each event against that array, so the events'
# shape is checked by runtime/tests/api.rs; server errors, status codes and content types here.
seed stream 0.5
run_pass stream --checks not_a_server_error,status_code_conformance,content_type_conformance \
  --max-examples "$MAX_EXAMPLES" --include-path-regex '/stream$'
# Mostly the seeded ids here: a write that skips the token check shows up as a 2xx on an object
# that exists (on an unknown id it would be a 404, a 4xx, all the same).
seed without-token 0.8
run_pass without-token --checks not_a_server_error,writes_need_token \
  --max-examples "$(((MAX_EXAMPLES + 4) / 5))" --include-method-regex '^(POST|PUT|PATCH|DELETE)$'
elapsed=$((SECONDS - started))

server_alive=1
kill -0 "$SERVER_PID" 2>/dev/null || server_alive=0
panics=$(grep -c 'panicked' "$SERVER_LOG" || true)

# --- summary -------------------------------------------------------------------------------------
python3 - "$TMP/results" "$OUT" "$server_alive" "$panics" "$elapsed" "$DB_LABEL" "$SEED" "$MAX_EXAMPLES" <<'PY'
import sys, xml.etree.ElementTree as ET
results, out, alive, panics, elapsed, db, seed, n = sys.argv[1:]
ok = alive == "1" and panics == "0"
print()
print(f"API fuzzing ({db}, seed {seed}, max examples {n}, {elapsed} s):")
for line in open(results):
    name, rc = line.split()
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failed = []
    try:
        for suite in ET.parse(f"{out}/{name}.junit.xml").getroot().iter("testsuite"):
            for key in counts:
                counts[key] += int(suite.get(key, 0))
        for case in ET.parse(f"{out}/{name}.junit.xml").getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(case.get("name"))
    except (OSError, ET.ParseError) as e:
        print(f"  (no JUnit report for {name}: {e})")
    status = "ok" if rc == "0" else f"FAILED (schemathesis exit {rc})"
    ok = ok and rc == "0"
    print(f"  {name:14} {status}: {counts['tests']} operations, {counts['failures']} failing, "
          f"{counts['errors']} errors, {counts['skipped']} skipped (log: {out}/{name}.log)")
    for label in failed:
        print(f"      {label}")
print(f"  server: {'still running' if alive == '1' else 'DIED during the run'}, {panics} panics in {out}/server.log")
print(f"  result: {'no failures' if ok else 'FAILURES'}")
sys.exit(0 if ok else 1)
PY
