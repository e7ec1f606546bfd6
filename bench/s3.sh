#!/usr/bin/env bash
# S3 target speed: `generate` ROWS → Parquet objects on the local S3-compatible server (moto, from
# scripts/services.sh) vs the same Parquet written to a local file, alternated in one invocation
# so machine drift hits both alike; prints rows/s, MB/s, peak RSS and the ratio s3/file.
#
#   bench/s3.sh [ROWS] [REPEATS]      defaults: 10000000 rows, 3 repeats (median reported)
#
# The S3 server is an in-memory Python process on the same 2 cores: its own CPU time is part of
# what the s3 variant pays, so the ratio is a floor for what a real S3 endpoint would give.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
REPEATS=${2:-3}
OUT=bench/out/s3
mkdir -p "$OUT"

eval "$(bash scripts/services.sh up moto)"
cargo build --release --bin fastlane
FASTLANE=$PWD/target/release/fastlane
export AWS_ENDPOINT_URL=$FASTLANE_TEST_AWS_ENDPOINT AWS_REGION=$FASTLANE_TEST_AWS_REGION
export AWS_ACCESS_KEY_ID=$FASTLANE_TEST_AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$FASTLANE_TEST_AWS_SECRET_ACCESS_KEY
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
BUCKET=fl-bench-$$
curl -fsS -X PUT "$AWS_ENDPOINT_URL/$BUCKET" >/dev/null
# moto keeps every object in memory: drop the bucket's content between runs.
reset_bucket() { curl -fsS -X POST "$AWS_ENDPOINT_URL/moto-api/reset" >/dev/null; curl -fsS -X PUT "$AWS_ENDPOINT_URL/$BUCKET" >/dev/null; }
trap 'curl -fsS -X POST "$AWS_ENDPOINT_URL/moto-api/reset" >/dev/null || true' EXIT

source_section="{ \"generate\": { \"rows\": $ROWS, \"batch_size\": 65536, \"seed\": 1 } }"
cat >"$OUT/file.json" <<JSON
{ "source": $source_section, "target": { "file": { "path": "$OUT/out.parquet" } } }
JSON
cat >"$OUT/s3.json" <<JSON
{ "source": $source_section, "target": { "s3": { "bucket": "$BUCKET", "prefix": "bench" } } }
JSON

rm -f "$OUT"/*.summary.json
for i in $(seq "$REPEATS"); do
  for variant in file s3; do
    echo "==> $variant, run $i/$REPEATS ($ROWS rows)" >&2
    "$FASTLANE" run --config "$OUT/$variant.json" --summary-json "$OUT/$variant-$i.summary.json" >/dev/null
    [ "$variant" = s3 ] && reset_bucket
  done
done
rm -f "$OUT/out.parquet"

python3 - "$OUT" "$ROWS" "$REPEATS" <<'PY'
import json, statistics, sys, glob
out, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(v): return [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{v}-*.summary.json"))]
def med(runs, key): return statistics.median(r[key] for r in runs)
print(f"| target | rows/s (median of {repeats}) | MB/s (Arrow bytes) | wall s | peak RSS MiB |")
print("|---|---|---|---|---|")
rps = {}
for variant, label in [("file", "file (local Parquet)"), ("s3", "s3 (Parquet objects, multipart)")]:
    runs = load(variant)
    for s in runs:
        assert s["status"] == "completed" and s["rows_loaded"] == rows, s
    rps[variant] = med(runs, "rows_per_second")
    mbs = med(runs, "bytes_extracted") / med(runs, "wall_seconds") / 1e6
    print(f"| {label} | {rps[variant]:,.0f} | {mbs:,.1f} | {med(runs,'wall_seconds'):.2f} | {max(r['peak_rss_bytes'] for r in runs)/2**20:.0f} |")
print()
print(f"**throughput ratio s3/file: {rps['s3']/rps['file']:.3f}**")
PY
