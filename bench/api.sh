#!/usr/bin/env bash
# Metrics ingestion benchmark of the monitoring API: sustained req/s and p99 latency of
# POST /api/v1/runs/{id}/metrics (one MetricSample per request) under wrk, against `fastlane serve`
# on SQLite. Goal: >= 5,000 req/s with p99 < 20 ms over 60 s.
#
#   bench/api.sh [DURATION_S] [CONNECTIONS]    defaults: $DURATION or 60 s, $CONNECTIONS or 32
#
# Starts the server on a free loopback port with a fresh SQLite file in a temp dir and no token,
# creates a pipeline and a run, runs `wrk --latency -t2 -c CONNECTIONS -d DURATION` with
# bench/api-metrics.lua, prints one result line (append it to bench/RESULTS.md), then reads the
# samples back through GET /api/v1/runs/{id}/metrics and checks that every accepted one is stored.
# wrk shares the machine's cores with the server, as it does on CI.
#
# FASTLANE_BIN names a prebuilt server binary (otherwise target/release/fastlane is built with cargo).
# Exit status: non-zero if any request failed (non-2xx, socket error, timeout) or samples are missing;
# a missed goal is reported, not an error.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-${DURATION:-60}}
CONNECTIONS=${2:-${CONNECTIONS:-32}}
THREADS=2
OUT=bench/out/api
mkdir -p "$OUT"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

if ! command -v wrk >/dev/null; then
  log "installing wrk with apt-get"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
fi
command -v curl >/dev/null || die "curl is needed"
if [ -n "${FASTLANE_BIN:-}" ]; then
  FASTLANE=$FASTLANE_BIN
else
  cargo build --release --bin fastlane
  FASTLANE=$PWD/target/release/fastlane
fi
[ -x "$FASTLANE" ] || die "no server binary at $FASTLANE"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fastlane-bench-api.XXXXXX")
# shellcheck source=scripts/lib/monitor.sh
source scripts/lib/monitor.sh
trap monitor_cleanup EXIT

SERVER_LOG=$OUT/server.log
monitor_start "$FASTLANE" "sqlite://$TMP/bench.db?mode=rwc" "$SERVER_LOG"
log "$FASTLANE serve runs on $BASE (SQLite in $TMP, no token; log: $SERVER_LOG)"

RUN_ID=$(python3 -c 'import uuid; print(uuid.uuid4())')
monitor_call 201 PUT /api/v1/pipelines/bench-pipeline \
  '{"source_type":"generate","target_type":"file","target_id":"bench","config":{}}'
monitor_call 201 POST /api/v1/pipelines/bench-pipeline/runs "{\"id\":\"$RUN_ID\",\"replication_mode\":\"FULL_TABLE\"}"
log "run $RUN_ID created; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on POST /api/v1/runs/$RUN_ID/metrics"

FASTLANE_BENCH_RUN_ID=$RUN_ID FASTLANE_BENCH_THREADS=$THREADS \
  FASTLANE_BENCH_EPOCH_MS=$(($(date +%s) * 1000)) \
  wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
  -s bench/api-metrics.lua "$BASE" | tee "$OUT/wrk.txt"
grep -q '^Requests/sec:' "$OUT/wrk.txt" || die "no Requests/sec line in wrk's output"
grep '^FASTLANE_BENCH ' "$OUT/wrk.txt" | sed 's/^FASTLANE_BENCH //' >"$OUT/result.json" ||
  die "no FASTLANE_BENCH line in wrk's output (bench/api-metrics.lua's done() did not run)"
kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 50 "$SERVER_LOG" >&2; die "the server died during the run"; }

# Read every stored sample back, a page of up to 1000 at a time (oldest first), counting distinct
# `at` values (each request sent its own); `from` may be inclusive, so pages may overlap by one.
python3 - "$BASE" "$RUN_ID" "$OUT/result.json" >"$OUT/readback.json" <<'PY'
import json, sys, urllib.parse, urllib.request
base, run_id, result = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
seen, since, pages = set(), None, 0
max_pages = result["requests"] // 999 + 10
while pages < max_pages:
    query = {"limit": 1000} | ({"from": since} if since else {})
    with urllib.request.urlopen(f"{base}/api/v1/runs/{run_id}/metrics?{urllib.parse.urlencode(query)}", timeout=30) as r:
        items = json.load(r)["items"]
    pages += 1
    if pages == 1 and items:
        missing = {"at", "rows_loaded", "load_rows_per_s", "rss_bytes", "wasm_ms_per_batch"} - set(items[0])
        assert not missing, f"stored sample lacks {missing}: {items[0]}"
    new = {item["at"] for item in items} - seen
    seen |= new
    if len(items) < 1000 or not new:
        break
    since = items[-1]["at"]
json.dump({"stored": len(seen), "pages": pages}, sys.stdout)
PY

python3 - "$OUT/result.json" "$OUT/readback.json" "$DURATION" "$CONNECTIONS" <<'PY'
import json, sys
r, back = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
duration, connections = sys.argv[3], sys.argv[4]
rps = r["requests"] / (r["duration_us"] / 1e6)
p50, p99 = r["p50_us"] / 1e3, r["p99_us"] / 1e3
socket_errors = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
errors = r["non_2xx"] + socket_errors
met = rps >= 5000 and p99 < 20
print()
print(f"metrics ingestion (SQLite, {duration} s, {connections} conns): {rps:,.0f} req/s, p50 {p50:.1f} ms, "
      f"p99 {p99:.1f} ms, errors {errors} — goal >= 5000 req/s, p99 < 20 ms: {'met' if met else 'NOT met'}")
print(f"  {r['requests']:,} requests, p90 {r['p90_us'] / 1e3:.1f} ms, max {r['max_us'] / 1e3:.1f} ms; "
      f"non-2xx {r['non_2xx']}, socket errors {socket_errors} (connect {r['connect_errors']}, read {r['read_errors']}, "
      f"write {r['write_errors']}, timeout {r['timeouts']})")
if r["first_error"]:
    print(f"  first non-2xx: {r['first_error']}")
ok_requests = r["requests"] - r["non_2xx"]
# wrk counts completed responses only: up to one request per connection may be stored unanswered.
complete = ok_requests <= back["stored"] <= ok_requests + int(connections)
print(f"  read back: {back['stored']:,} samples stored in {back['pages']} pages of GET /metrics "
      f"({'all accepted samples present' if complete else f'MISMATCH with {ok_requests:,} accepted requests'})")
sys.exit(0 if errors == 0 and complete else 1)
PY
