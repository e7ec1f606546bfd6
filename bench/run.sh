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
cargo build --release --bin fastlane --example bench_instantiate --example bench_call
FASTLANE=$PWD/target/release/fastlane
export FASTLANE_CACHE_DIR=$PWD/$OUT/cache

config() { # $1: transform section (JSON or null), $2: output file, $3: Parquet compression
  cat <<JSON
{ "source": { "generate": { "rows": $ROWS, "batch_size": 65536, "seed": 1 } },
  "transform": $1,
  "target": { "file": { "path": "$2", "compression": "$3" } },
  "max_buffered_batches": 8 }
JSON
}
# Two targets: Parquet with the default zstd, and uncompressed Parquet (the cheapest target this
# build has, so the wasm stage's share of the CPU is as large as it gets).
PASSTHROUGH='{ "wasm": "transforms/dist/passthrough.wasm", "concurrency": 2 }'
for compression in zstd none; do
  config null "$OUT/native.parquet" "$compression" > "$OUT/native-$compression.json"
  config "$PASSTHROUGH" "$OUT/wasm.parquet" "$compression" > "$OUT/wasm-$compression.json"
done

# Warm the component cache and the page cache once, outside the measurements.
"$FASTLANE" run --config "$OUT/wasm-none.json" >/dev/null
rm -f "$OUT"/*.summary.json

for i in $(seq "$REPEATS"); do
  for compression in zstd none; do
    for variant in native wasm; do
      echo "==> $variant, parquet $compression, run $i/$REPEATS ($ROWS rows)" >&2
      "$FASTLANE" run --config "$OUT/$variant-$compression.json" --summary-json "$OUT/$variant-$compression-$i.summary.json" >/dev/null
    done
  done
done

# Startup: a second run of a cached component on a tiny input.
config '{ "wasm": "transforms/dist/passthrough.wasm", "concurrency": 1 }' "$OUT/tiny.parquet" zstd | sed "s/\"rows\": $ROWS/\"rows\": 10/" > "$OUT/tiny.json"
for i in 1 2 3 4 5; do
  "$FASTLANE" run --config "$OUT/tiny.json" --summary-json "$OUT/startup-$i.summary.json" >/dev/null
done
./target/release/examples/bench_instantiate transforms/dist/passthrough.wasm 5000 > "$OUT/instantiate.json"
./target/release/examples/bench_call transforms/dist/passthrough.wasm 65536 100 > "$OUT/call.json"

python3 - "$OUT" "$ROWS" "$REPEATS" <<'PY'
import json, statistics, sys, glob
out, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(pattern): return [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{pattern}"))]
def med(runs, key): return statistics.median(r[key] for r in runs)
print(f"| target | variant | rows/s (median of {repeats}) | MB/s (Arrow bytes) | wall s | wasm s (all workers) | peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
ratios = {}
for compression in ["zstd", "none"]:
    rps = {}
    for variant, label in [("native", "native (no transform)"), ("wasm", "passthrough.wasm, 2 workers")]:
        runs = load(f"{variant}-{compression}-*.summary.json")
        for s in runs:
            assert s["status"] == "completed" and s["rows_loaded"] == rows, s
        rps[variant] = med(runs, "rows_per_second")
        mbs = med(runs, "bytes_extracted") / med(runs, "wall_seconds") / 1e6
        print(f"| parquet {compression} | {label} | {rps[variant]:,.0f} | {mbs:,.1f} | {med(runs,'wall_seconds'):.2f} | {med(runs,'wasm_seconds'):.2f} | {max(r['peak_rss_bytes'] for r in runs)/2**20:.0f} |")
    ratios[compression] = rps["wasm"] / rps["native"]
print()
for compression, ratio in ratios.items():
    print(f"**throughput ratio wasm/native, parquet {compression} target: {ratio:.3f}** (goal ≥ 0.9: {'met' if ratio >= 0.9 else 'NOT met'})")
call = json.load(open(f"{out}/call.json"))
print(f"one passthrough call on a {call['rows']}-row batch ({call['ipc_bytes']/2**20:.1f} MiB of IPC), uncontended, encoding into the guest and copying the result out included: {call['call_ms']:.2f} ms ({call['call_mb_per_s']:,.0f} MB/s); encoding the batch alone into host memory: {call['host_encode_ms']:.2f} ms")
startup = [s["startup_to_first_load_seconds"] * 1e3 for s in load("startup-*.summary.json")]
inst = json.load(open(f"{out}/instantiate.json"))
print(f"pooled instantiate on a cache hit: p50 {inst['instantiate_us_p50']:.1f} µs, p99 {inst['instantiate_us_p99']:.1f} µs (goal < 100 µs); instantiate+init p50 {inst['instantiate_plus_init_us_p50']:.1f} µs; cached component load {inst['cached_load_ms']:.2f} ms")
print(f"second run, cached component: process start → first batch loaded, median {statistics.median(startup):.1f} ms (runs: {', '.join(f'{s:.0f}' for s in startup)}) (goal < 200 ms)")
PY
