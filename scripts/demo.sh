#!/usr/bin/env bash
# The demo: build everything, make a sample CSV of orders, run it through the `mask` Wasm
# transform into Parquet, and show the result. Everything stays under ./demo-out.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/demo-out

bash scripts/setup.sh
bash scripts/build-transforms.sh
echo "==> building fastlane (release; the first build takes several minutes)"
cargo build --release --bin fastlane
FASTLANE=$ROOT/target/release/fastlane
mkdir -p "$OUT"

echo "==> 1/3 making sample data: 200,000 synthetic orders → $OUT/orders.csv"
"$FASTLANE" run --config examples/generate-orders.json

echo "==> 2/3 running the pipeline: orders.csv → mask.wasm (hash the email column) → orders_masked.parquet"
"$FASTLANE" run --config examples/demo-pipeline.json --logs-to-file "$OUT/run.log"

echo "==> 3/3 the result (first rows of $OUT/orders_masked.parquet):"
"$FASTLANE" show "$OUT/orders_masked.parquet" --rows 5

cat <<TXT

Done. Watch it again, live, with:   $FASTLANE run --config examples/demo-pipeline.json
The run log (JSON lines) is in:      $OUT/run.log
Edit the transform:                  transforms/mask/src/lib.rs, then scripts/build-transforms.sh
TXT
