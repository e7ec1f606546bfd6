#!/usr/bin/env bash
# The demo: build everything, make a sample CSV of orders, run it through the `mask` Wasm
# transform into Parquet while the monitoring service (`fastlane serve`, SQLite) records the run,
# and show the result and where to watch it. Everything stays under ./demo-out; the service is
# left running (demo-out/serve.pid) so the run can be browsed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/demo-out

bash scripts/setup.sh
FASTLANE=$ROOT/target/release/fastlane
# The demo needs only the file and generate connectors: fastlane built without the database and
# cloud connectors (`--no-default-features`) compiles in minutes less. A full build already here
# is kept (and brought up to date); `cargo build --release --bin fastlane` builds the full one.
build_args=(--release --locked -p fastlane --bin fastlane --no-default-features)
full=0
if [ -x "$FASTLANE" ] && "$FASTLANE" connectors 2>/dev/null | grep -q '^source mysql'; then
  build_args=(--release --locked --bin fastlane)
  full=1
fi
# The first build is long: say so, with an estimate for this machine, before it starts.
if [ ! -x "$FASTLANE" ]; then
  cores=$(nproc 2>/dev/null || echo 2)
  minutes=$(( 31 / cores + 1 ))
  echo "==> first build: the demo's Wasm transform and fastlane (with the connectors the demo uses), in"
  echo "    release mode, side by side. On this machine ($cores cores) expect roughly $minutes minutes;"
  echo "    later runs start in seconds. cargo prints each crate as it compiles (wasmtime's code"
  echo "    generator, arrow and parquet are the long ones)."
fi
started=$(date +%s)
mkdir -p "$OUT"
echo "==> building the demo's transform, mask (Rust → a wasm32-wasip2 component; log: $OUT/build-transforms.log)"
# At the lowest priority: it takes the cores fastlane's build leaves idle (its last crates
# compile one at a time) instead of slowing it down.
nice -n 19 bash scripts/build-transforms.sh mask >"$OUT/build-transforms.log" 2>&1 &
transforms_pid=$!
echo "==> building fastlane (release)"
# A first build gains nothing from incremental compilation's bookkeeping (the release profile
# keeps it for the test loop's rebuilds).
if [ -x "$FASTLANE" ]; then
  cargo build "${build_args[@]}"
else
  CARGO_INCREMENTAL=0 cargo build "${build_args[@]}"
fi
if ! wait "$transforms_pid"; then
  tail -30 "$OUT/build-transforms.log" >&2
  echo "error: building the example transforms failed (the log's end is above)" >&2
  exit 1
fi
echo "==> built in $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s"

echo "==> 1/3 making sample data: 200,000 synthetic orders → $OUT/orders.csv"
"$FASTLANE" run --config examples/generate-orders.json

# The monitoring service: reuse the demo's own if it still runs, else start it on
# FASTLANE_DEMO_PORT (default 8787) or, when that port is taken, any free one.
API=""
if [ -f "$OUT/serve.pid" ] && kill -0 "$(cat "$OUT/serve.pid")" 2>/dev/null && [ -f "$OUT/serve.url" ]; then
  API=$(cat "$OUT/serve.url")
else
  port=${FASTLANE_DEMO_PORT:-8787}
  if ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$port" 2>/dev/null; then
    port=0
  fi
  rm -f "$OUT/serve.log"
  nohup "$FASTLANE" serve --bind "127.0.0.1:$port" --database-url "sqlite://$OUT/monitor.db?mode=rwc" \
    </dev/null >/dev/null 2>"$OUT/serve.log" &
  echo $! >"$OUT/serve.pid"
  for _ in $(seq 100); do
    API=$(grep -o 'listening on http://[0-9.:]*' "$OUT/serve.log" 2>/dev/null | sed 's/listening on //' || true)
    [ -n "$API" ] && break
    sleep 0.1
  done
  if [ -n "$API" ]; then echo "$API" >"$OUT/serve.url"; else
    echo "warning: the monitoring service did not start (see $OUT/serve.log); running without it" >&2
  fi
fi

echo "==> 2/3 running the pipeline: orders.csv → mask.wasm (hash the email column) → orders_masked.parquet"
api_args=()
[ -n "$API" ] && api_args=(--api "$API")
"$FASTLANE" run --config examples/demo-pipeline.json --logs-to-file "$OUT/run.log" \
  --summary-json "$OUT/summary.json" "${api_args[@]}"

echo "==> 3/3 the result (first rows of $OUT/orders_masked.parquet):"
"$FASTLANE" show "$OUT/orders_masked.parquet" --rows 5

cat <<TXT

Done. Run it again, with the live progress line:   $FASTLANE run --config examples/demo-pipeline.json${API:+ --api $API}
The run log (JSON lines) is in:                    $OUT/run.log
Edit the transform:                                transforms/mask/src/lib.rs, then scripts/build-transforms.sh
TXT
if [ "$full" = 0 ]; then
  cat <<TXT
This fastlane has the connectors the demo uses (file, generate). For MySQL, MongoDB, BigQuery,
S3, Firehose, InfluxDB and CloudWatch Logs, build the full one (a second build of similar length):
  cargo build --release --bin fastlane
TXT
fi
if [ -n "$API" ]; then
  run_id=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('api_run_id') or '')" "$OUT/summary.json")
  cat <<TXT

Watch runs in the web UI of the monitoring service (SQLite in $OUT/monitor.db; stop it with
kill \$(cat $OUT/serve.pid)):
  this run, in the UI:     $API/runs/$run_id
  every pipeline:          $API/
  API docs (try it out):   $API/docs
  this run in the API:     $API/api/v1/runs/$run_id
  its metrics and log:     $API/api/v1/runs/$run_id/metrics    $API/api/v1/runs/$run_id/logs
  live stream of a run:    curl -N $API/api/v1/runs/<run id>/metrics/stream
TXT
fi
