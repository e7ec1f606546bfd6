#!/usr/bin/env bash
# The benchmark harness. Runs each comparison side by side in one invocation, alternating the
# variants so machine drift hits both alike, and prints ratios (append them to bench/RESULTS.md).
#
#   bench/run.sh [ROWS] [REPEATS]      defaults: 10000000 rows, 3 repeats (median reported)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
REPEATS=${2:-3}
OUT=bench/out
mkdir -p "$OUT"

bash scripts/setup.sh
bash scripts/build-transforms.sh >/dev/null
cargo build --release --bin fastlane --example bench_instantiate
FASTLANE=$PWD/target/release/fastlane
export FASTLANE_CACHE_DIR=$PWD/$OUT/cache

config() { # $1: transform section (JSON or null), $2: output file
  cat <<JSON
{ "source": { "generate": { "rows": $ROWS, "batch_size": 65536, "seed": 1 } },
  "transform": $1,
  "target": { "file": { "path": "$2", "compression": "none" } },
  "max_buffered_batches": 8 }
JSON
}
config null "$OUT/native.parquet" > "$OUT/native.json"
config '{ "wasm": "transforms/dist/passthrough.wasm", "concurrency": 2 }' "$OUT/wasm.parquet" > "$OUT/wasm.json"

# Warm the component cache and the page cache once, outside the measurements.
"$FASTLANE" run --config "$OUT/wasm.json" >/dev/null

for i in $(seq "$REPEATS"); do
  for variant in native wasm; do
    echo "==> $variant run $i/$REPEATS ($ROWS rows)" >&2
    "$FASTLANE" run --config "$OUT/$variant.json" --summary-json "$OUT/$variant-$i.summary.json" >/dev/null
  done
done

# Startup: a second run of a cached component on a tiny input.
config '{ "wasm": "transforms/dist/passthrough.wasm", "concurrency": 1 }' "$OUT/tiny.parquet" | sed "s/\"rows\": $ROWS/\"rows\": 10/" > "$OUT/tiny.json"
for i in 1 2 3 4 5; do
  "$FASTLANE" run --config "$OUT/tiny.json" --summary-json "$OUT/startup-$i.summary.json" >/dev/null
done
./target/release/examples/bench_instantiate transforms/dist/passthrough.wasm 5000 > "$OUT/instantiate.json"

python3 - "$OUT" "$ROWS" "$REPEATS" <<'PY'
import json, statistics, sys, glob
out, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(pattern): return [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{pattern}"))]
native, wasm = load("native-*.summary.json"), load("wasm-*.summary.json")
for s in native + wasm:
    assert s["status"] == "completed" and s["rows_loaded"] == rows, s
def med(runs, key): return statistics.median(r[key] for r in runs)
n_rps, w_rps = med(native, "rows_per_second"), med(wasm, "rows_per_second")
n_mbs = med(native, "bytes_extracted") / med(native, "wall_seconds") / 1e6
w_mbs = med(wasm, "bytes_extracted") / med(wasm, "wall_seconds") / 1e6
startup = [s["startup_to_first_load_seconds"] * 1e3 for s in load("startup-*.summary.json")]
inst = json.load(open(f"{out}/instantiate.json"))
print(f"| variant | rows/s (median of {repeats}) | MB/s (Arrow bytes) | wall s | peak RSS MiB |")
print("|---|---|---|---|---|")
for name, runs, rps, mbs in [("native (no transform)", native, n_rps, n_mbs), ("passthrough.wasm ×2 workers", wasm, w_rps, w_mbs)]:
    print(f"| {name} | {rps:,.0f} | {mbs:,.1f} | {med(runs,'wall_seconds'):.2f} | {max(r['peak_rss_bytes'] for r in runs)/2**20:.0f} |")
print()
print(f"**throughput ratio wasm/native = {w_rps / n_rps:.3f}** (goal ≥ 0.9); wasm time {med(wasm,'wasm_seconds'):.2f}s summed over workers")
print(f"pooled instantiate on a cache hit: p50 {inst['instantiate_us_p50']:.1f} µs, p99 {inst['instantiate_us_p99']:.1f} µs (goal < 100 µs); instantiate+init p50 {inst['instantiate_plus_init_us_p50']:.1f} µs; cached component load {inst['cached_load_ms']:.2f} ms")
print(f"second run, cached component: process start → first batch loaded, median {statistics.median(startup):.1f} ms (runs: {', '.join(f'{s:.0f}' for s in startup)}) (goal < 200 ms)")
PY
