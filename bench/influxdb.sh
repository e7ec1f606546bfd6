#!/usr/bin/env bash
# InfluxDB target speed: `generate` ROWS → influxdb target on the InfluxDB-write-compatible server
# of scripts/services.sh (VictoriaMetrics, /api/v2/write), against the server's own bulk ingestion
# of the same line protocol: the exact bytes fastlane sends (captured once by a loopback
# listener), POSTed with curl in requests of the same size from as many connections as fastlane
# has workers. Variants alternate within each repeat so machine drift hits both alike; prints
# rows/s of both (medians) and the ratio fastlane/curl.
#
#   bench/influxdb.sh [ROWS] [REPEATS]      defaults: 1000000 rows, 3 repeats
#   BATCH=5000 CONCURRENCY=2 bench/influxdb.sh   lines per request, target workers / curls
#
# Points: tags country and name (string columns: 16 × 256 series), fields customer_id, quantity,
# unit_price and amount, time created_at (precision us: no two orders share a time). Every run
# writes its own measurement; the server keeps them all (drop its data dir to reclaim space).
# The server runs on the same cores: its ingestion CPU is part of what both variants pay, and
# the curl variant pays no rendering, so the ratio is fastlane's end-to-end share of the
# server's ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
REPEATS=${2:-3}
BATCH=${BATCH:-5000}
CONCURRENCY=${CONCURRENCY:-2}
OUT=bench/out/influxdb
mkdir -p "$OUT"

eval "$(bash scripts/services.sh up victoriametrics)"
cargo build --release --bin fastlane
FASTLANE=$PWD/target/release/fastlane
URL=$FASTLANE_TEST_INFLUX_URL
RUN=$$
WRITE="$URL/api/v2/write?org=bench&bucket=bench&precision=us"

# A config writing measurement $2 to $1.
config() {
  cat <<JSON
{ "source": { "generate": { "rows": $ROWS, "batch_size": 65536, "seed": 1 } },
  "target": { "influxdb": { "url": "$1", "org": "bench", "bucket": "bench", "measurement": "$2",
                            "tag_columns": ["country", "name"],
                            "field_columns": ["customer_id", "quantity", "unit_price", "amount"],
                            "time_column": "created_at", "precision": "us",
                            "batch_size": $BATCH, "concurrency": $CONCURRENCY } } }
JSON
}

# Points of measurement $1 the server holds (its quantity series, flushed first).
stored() {
  curl -fsS "$URL/internal/force_flush" >/dev/null
  curl -fsS -G "$URL/api/v1/export" --data-urlencode "match[]={__name__=\"$1_quantity\"}" |
    python3 -c 'import json, sys; print(sum(len(json.loads(l)["timestamps"]) for l in sys.stdin if l.strip()))'
}

# 1. Capture the line protocol fastlane sends: a listener that answers /ping and stores bodies.
echo "==> capturing the line protocol of $ROWS rows" >&2
rm -f "$OUT/port" "$OUT/points.lp"
python3 - "$OUT/port" "$OUT/points.lp" <<'PY' &
import http.server, sys, threading
port_file, out = sys.argv[1], open(sys.argv[2], "wb")
lock = threading.Lock()
class Capture(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        self.answer()
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            out.write(body)
            out.flush()
        self.answer()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
open(port_file, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
CAPTURE_PID=$!
trap 'kill "$CAPTURE_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.1; done
[ -s "$OUT/port" ] || { echo "the capture listener did not start" >&2; exit 1; }
config "http://127.0.0.1:$(cat "$OUT/port")" bench_lp >"$OUT/capture.json"
"$FASTLANE" run --config "$OUT/capture.json" >/dev/null
kill "$CAPTURE_PID"
trap - EXIT
[ "$(wc -l <"$OUT/points.lp")" -eq "$ROWS" ] || { echo "captured $(wc -l <"$OUT/points.lp") lines, not $ROWS" >&2; exit 1; }

# POST files $@ to the server over one connection, one request each.
post() {
  local args=() f
  for f in "$@"; do
    [ ${#args[@]} -eq 0 ] || args+=(--next)
    args+=(-fsS -o /dev/null -X POST -H 'Content-Type: text/plain; charset=utf-8' --data-binary "@$f" "$WRITE")
  done
  curl "${args[@]}"
}

rm -f "$OUT"/*.summary.json "$OUT"/*.seconds
for i in $(seq "$REPEATS"); do
  echo "==> fastlane, run $i/$REPEATS ($ROWS rows)" >&2
  measurement=bench_fl_${RUN}_$i
  config "$URL" "$measurement" >"$OUT/fastlane.json"
  "$FASTLANE" run --config "$OUT/fastlane.json" --summary-json "$OUT/fastlane-$i.summary.json" >/dev/null
  [ "$(stored "$measurement")" -eq "$ROWS" ] || { echo "fastlane run $i: not every point stored" >&2; exit 1; }

  echo "==> curl, run $i/$REPEATS ($ROWS lines in requests of $BATCH, $CONCURRENCY at a time)" >&2
  measurement=bench_curl_${RUN}_$i
  rm -rf "$OUT/chunks" && mkdir "$OUT/chunks"
  sed "s/^bench_lp,/$measurement,/" "$OUT/points.lp" | split -l "$BATCH" -a 6 - "$OUT/chunks/c"
  chunks=("$OUT"/chunks/c*)
  start=$(date +%s.%N)
  pids=()
  for ((w = 0; w < CONCURRENCY; w++)); do
    mine=()
    for ((c = w; c < ${#chunks[@]}; c += CONCURRENCY)); do mine+=("${chunks[c]}"); done
    [ ${#mine[@]} -eq 0 ] || { post "${mine[@]}" & pids+=($!); }
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  end=$(date +%s.%N)
  echo "$start $end" >"$OUT/curl-$i.seconds"
  [ "$(stored "$measurement")" -eq "$ROWS" ] || { echo "curl run $i: not every point stored" >&2; exit 1; }
done
rm -rf "$OUT/chunks"

python3 - "$OUT" "$ROWS" "$REPEATS" "$BATCH" "$CONCURRENCY" <<'PY'
import json, statistics, sys
out, rows, repeats, batch, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
runs = [json.load(open(f"{out}/fastlane-{i}.summary.json")) for i in range(1, repeats + 1)]
for s in runs:
    assert s["status"] == "completed" and s["rows_loaded"] == rows, s
curl = []
for i in range(1, repeats + 1):
    start, end = map(float, open(f"{out}/curl-{i}.seconds").read().split())
    curl.append(rows / (end - start))
ours = statistics.median(s["rows_per_second"] for s in runs)
theirs = statistics.median(curl)
print(f"| {rows:,} rows, {batch} lines/request, {workers} connections | rows/s (median of {repeats}) | wall s | peak RSS MiB |")
print("|---|---|---|---|")
print(f"| fastlane generate -> influxdb target | {ours:,.0f} | {statistics.median(s['wall_seconds'] for s in runs):.2f} | {max(s['peak_rss_bytes'] for s in runs) / 2**20:.0f} |")
print(f"| curl POST of the same line protocol (server's bulk ingestion) | {theirs:,.0f} | {rows / theirs:.2f} | - |")
print()
print(f"**throughput ratio fastlane/curl: {ours / theirs:.3f}**")
print(f"runs: fastlane {[round(s['rows_per_second']) for s in runs]}, curl {[round(r) for r in curl]}")
PY
