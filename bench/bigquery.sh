#!/usr/bin/env bash
# BigQuery source speed on the private BigQuery emulator of scripts/services.sh (bqemulator):
# a ROWS-row table read by `fastlane run --source bigquery --target file` (-> Parquet) against
# Google's own Python client (google-cloud-bigquery) reading the same table, on both read paths:
#
#  - rest:    fastlane `read_api: rest` (tabledata.list pages of 10 000 rows) vs
#             `Client.list_rows(page_size=10000).to_arrow()`;
#  - storage: fastlane `read_api: storage` (a read session of up to 4 Arrow streams read in
#             parallel) vs `list_rows().to_arrow(bqstorage_client=…)` (the same, in threads).
#
# Variants alternate within each repeat so machine drift hits both alike; medians are reported.
#
#   bench/bigquery.sh [ROWS] [REPEATS]      defaults: 1000000 rows, 3 repeats
#
# The emulator is a Python server on DuckDB on the same 2 cores: over REST it renders ~12k rows/s
# of JSON whoever asks, so the rest ratio mostly measures it. The table is created once by a
# `CREATE TABLE … AS SELECT` query job and kept between runs. Its payload column is kept short:
# the emulator sends a stream's rows in 65 536-row messages and refuses any over 11 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
REPEATS=${2:-3}
OUT=bench/out/bigquery
mkdir -p "$OUT"

services_env="$(bash scripts/services.sh up bigquery)"
eval "$services_env"
cargo build --release --bin fastlane
FASTLANE=$PWD/target/release/fastlane
ENDPOINT=$FASTLANE_TEST_BIGQUERY_ENDPOINT
GRPC=$FASTLANE_TEST_BIGQUERY_GRPC
PROJECT=$FASTLANE_TEST_BIGQUERY_PROJECT
DATASET=fl_bench
TABLE=events
API="$ENDPOINT/bigquery/v2/projects/$PROJECT"

VENV=bench/.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check 'google-cloud-bigquery==3.*' \
  'google-cloud-bigquery-storage==2.*' 'pyarrow>=15' >&2

# A query job, failing loudly (the emulator answers a failed query with HTTP 200 and `errors`).
query() {
  local answer
  answer="$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "useLegacySql": False}))' "$1" |
    curl -fsS -X POST "$API/queries" -H 'content-type: application/json' --data-binary @-)"
  if python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin).get("errors") else 1)' <<<"$answer"; then
    echo "query failed: $answer" >&2
    exit 1
  fi
  printf '%s' "$answer"
}

have="$(curl -fsS "$API/datasets/$DATASET/tables/$TABLE" 2>/dev/null |
  python3 -c 'import json, sys; print(json.load(sys.stdin).get("numRows", ""))' 2>/dev/null || true)"
if [ "$have" != "$ROWS" ]; then
  echo "==> creating $DATASET.$TABLE ($ROWS rows)" >&2
  curl -fsS -X DELETE "$API/datasets/$DATASET?deleteContents=true" >/dev/null 2>&1 || true
  curl -fsS -X POST "$API/datasets" -H 'content-type: application/json' \
    -d "{\"datasetReference\": {\"projectId\": \"$PROJECT\", \"datasetId\": \"$DATASET\"}}" >/dev/null
  query "CREATE TABLE \`$PROJECT.$DATASET.$TABLE\` AS
    SELECT id,
      MOD(id * 7919, 100000) AS user_id,
      ['view', 'click', 'add_to_cart', 'purchase', 'refund'][OFFSET(MOD(id, 5))] AS event_type,
      IF(MOD(id, 11) = 0, NULL, CAST(MOD(id * 37, 1000000) AS NUMERIC) / 100) AS amount,
      TIMESTAMP_ADD(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL id SECOND) AS created_at,
      SUBSTR(REPEAT(TO_HEX(MD5(CAST(id AS STRING))), 2), 1, 20 + MOD(id, 40)) AS payload
    FROM UNNEST(GENERATE_ARRAY(1, $ROWS)) AS id" >/dev/null
fi

cat >"$OUT/bq_read.py" <<'PY'
# Read a whole table with Google's own Python client: `rest` pages tabledata.list, `storage`
# reads a Storage Read API session's streams in parallel threads; print rows/s as JSON.
import json, sys, time
import grpc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, bigquery_storage_v1
from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

endpoint, grpc_endpoint, project, table, rows, path = sys.argv[1:7]
rows = int(rows)
client = bigquery.Client(project=project, credentials=AnonymousCredentials(),
                         client_options=ClientOptions(api_endpoint=endpoint))
began = time.perf_counter()
if path == "rest":
    result = client.list_rows(table, page_size=10_000).to_arrow(create_bqstorage_client=False)
else:
    channel = grpc.insecure_channel(grpc_endpoint.removeprefix("http://"),
                                    options=[("grpc.max_receive_message_length", 256 << 20)])
    storage = bigquery_storage_v1.BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))
    result = client.list_rows(table).to_arrow(bqstorage_client=storage)
seconds = time.perf_counter() - began
assert result.num_rows == rows, result.num_rows
print(json.dumps({"rows": result.num_rows, "seconds": seconds, "rows_per_s": result.num_rows / seconds}))
PY

for path in rest storage; do
  cat >"$OUT/fastlane-$path.json" <<JSON
{ "source": { "bigquery": { "gcp_project": "$PROJECT", "dataset_id": "$DATASET", "table_id": "$TABLE",
                            "endpoint": "$ENDPOINT", "storage_endpoint": "$GRPC",
                            "read_api": "$path", "page_size": 10000, "concurrency": 4 } },
  "target": { "file": { "path": "$OUT/out.parquet" } } }
JSON
done

rm -f "$OUT"/*.summary.json "$OUT"/*.read
# One untimed read first: the emulator's first read of a freshly created table is several times
# slower than the next (a 1-repeat run once measured the Storage Read API at 0.11 of the client).
echo "==> warm-up: one untimed Storage Read API read" >&2
"$FASTLANE" run --source bigquery --target file --config "$OUT/fastlane-storage.json" >/dev/null
for i in $(seq "$REPEATS"); do
  for path in rest storage; do
    echo "==> run $i/$REPEATS, $path: fastlane bigquery -> file" >&2
    "$FASTLANE" run --source bigquery --target file --config "$OUT/fastlane-$path.json" \
      --summary-json "$OUT/fastlane-$path-$i.summary.json" >/dev/null
    echo "==> run $i/$REPEATS, $path: google-cloud-bigquery" >&2
    "$VENV/bin/python" "$OUT/bq_read.py" "$ENDPOINT" "$GRPC" "$PROJECT" "$PROJECT.$DATASET.$TABLE" \
      "$ROWS" "$path" >"$OUT/python-$path-$i.read"
  done
done
rm -f "$OUT/out.parquet"

python3 - "$OUT" "$ROWS" "$REPEATS" <<'PY'
import json, statistics, sys
out, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for path, theirs_label in [("rest", "list_rows (tabledata.list)"), ("storage", "to_arrow(bqstorage_client)")]:
    ours = [json.load(open(f"{out}/fastlane-{path}-{i}.summary.json")) for i in range(1, repeats + 1)]
    for s in ours:
        assert s["status"] == "completed" and s["rows_loaded"] == rows, s
    theirs = [json.load(open(f"{out}/python-{path}-{i}.read")) for i in range(1, repeats + 1)]
    ours_rate = statistics.median(s["rows_per_second"] for s in ours)
    their_rate = statistics.median(r["rows_per_s"] for r in theirs)
    rss_mib = max(s["peak_rss_bytes"] for s in ours) / 2**20
    print(f"| read {rows:,} rows (bqemulator), {path} | fastlane bigquery -> Parquet file {ours_rate:,.0f} rows/s "
          f"| google-cloud-bigquery {theirs_label} {their_rate:,.0f} rows/s | ratio {ours_rate / their_rate:.2f} "
          f"| fastlane peak RSS {rss_mib:.0f} MiB |")
    print(f"runs ({path}): fastlane {[round(s['wall_seconds'], 2) for s in ours]} s, "
          f"python {[round(r['seconds'], 2) for r in theirs]} s")
PY
