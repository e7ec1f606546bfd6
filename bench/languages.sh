#!/usr/bin/env bash
# Transforms in every language, side by side in one invocation: the same `filter` written in
# Rust, Python, JavaScript and C (transforms/README.md) on the same input, reported as ratios to
# the Rust one. Per language: component size, pooled instantiate (precompiled-cache hit) and
# instantiate+init, and the filter's rows/s on ROWS rows (in the transform calls alone, and end to
# end through `fastlane run` Parquet file → Parquet file, one transform worker).
#
#   bench/languages.sh [ROWS] [REPEATS]      defaults: 1000000 rows, 3 repeats (median reported)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
REPEATS=${2:-3}
OUT=bench/out/languages
mkdir -p "$OUT"

bash scripts/setup.sh
for lang in rust python js c; do bash "guest-sdk/$lang/toolchain.sh"; done
bash scripts/build-transforms.sh --all >/dev/null
cargo build --release --bin fastlane --example bench_instantiate
FASTLANE=$PWD/target/release/fastlane
export FASTLANE_CACHE_DIR=$PWD/$OUT/cache

# The input: the `generate` source's orders (ids, strings, a decimal, floats, booleans, a
# timestamp, a date, nulls), 65,536 rows per batch as a pipeline would send them.
if [ ! -f "$OUT/input-$ROWS.parquet" ]; then
  cat >"$OUT/generate.json" <<JSON
{ "source": { "generate": { "rows": $ROWS, "batch_size": 65536, "seed": 3 } },
  "target": { "file": { "path": "$OUT/input-$ROWS.parquet", "compression": "none" } } }
JSON
  "$FASTLANE" run --config "$OUT/generate.json" >/dev/null
fi

FILTER='{ "column": "unit_price", "op": "gt", "value": 50 }'
components=(rust:filter py:filter-py js:filter-js c:filter-c)
for entry in "${components[@]}"; do
  lang=${entry%%:*}
  name=${entry#*:}
  cat >"$OUT/$lang.json" <<JSON
{ "source": { "file": { "path": "$OUT/input-$ROWS.parquet", "batch_size": 65536 } },
  "transform": { "wasm": "transforms/dist/$name.wasm", "concurrency": 1, "config": $FILTER,
                 "limits": { "call_timeout_ms": 600000, "memory_mb": 2048, "max_output_mb": 1024 } },
  "target": { "file": { "path": "$OUT/out-$lang.parquet", "compression": "none" } },
  "max_buffered_batches": 4 }
JSON
  # Fills the component cache, so every measured run is a cache hit.
  ./target/release/examples/bench_instantiate "transforms/dist/$name.wasm" 200 "$FILTER" \
    >"$OUT/instantiate-$lang.json"
done
rm -f "$OUT"/*.summary.json

for i in $(seq "$REPEATS"); do
  for entry in "${components[@]}"; do
    lang=${entry%%:*}
    echo "==> filter ($lang), run $i/$REPEATS ($ROWS rows)" >&2
    "$FASTLANE" run --config "$OUT/$lang.json" --summary-json "$OUT/$lang-$i.summary.json" >/dev/null
  done
done

python3 - "$OUT" "$ROWS" "$REPEATS" <<'PY'
import glob, json, os, statistics, sys
out, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
langs = [("rust", "Rust", "filter"), ("py", "Python", "filter-py"), ("js", "JavaScript", "filter-js"), ("c", "C", "filter-c")]
stats = {}
for key, label, name in langs:
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{key}-*.summary.json"))]
    for s in runs:
        assert s["status"] == "completed" and s["rows_extracted"] == rows, s
    kept = {s["rows_loaded"] for s in runs}
    inst = json.load(open(f"{out}/instantiate-{key}.json"))
    stats[key] = dict(
        label=label,
        size=os.path.getsize(f"transforms/dist/{name}.wasm"),
        inst=inst["instantiate_us_p50"],
        init=inst["instantiate_plus_init_us_p50"],
        load=inst["cached_load_ms"],
        wasm_rps=statistics.median(rows / s["wasm_seconds"] for s in runs),
        e2e_rps=statistics.median(s["rows_per_second"] for s in runs),
        kept=kept,
    )
rust = stats["rust"]
kept = {k for s in stats.values() for k in s["kept"]}
print(f"| language | component | cached load | instantiate p50 | instantiate+init p50 | filter rows/s in the transform | ratio to Rust | end-to-end rows/s | ratio to Rust |")
print("|---|---|---|---|---|---|---|---|---|")
for key, _, _ in langs:
    s = stats[key]
    print(f"| {s['label']} | {s['size']/1e6:.2f} MB | {s['load']:.1f} ms | {s['inst']:.0f} µs | {s['init']/1e3:.2f} ms | "
          f"{s['wasm_rps']:,.0f} | {s['wasm_rps']/rust['wasm_rps']:.3f} | {s['e2e_rps']:,.0f} | {s['e2e_rps']/rust['e2e_rps']:.3f} |")
print()
print(f"rows kept by every language: {sorted(kept)} (must be one number)")
assert len(kept) == 1, "the languages kept different row counts"
PY
