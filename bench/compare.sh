#!/usr/bin/env bash
# Before/after: two fastlane binaries side by side in one invocation, alternating within each
# repeat so machine drift hits both alike, on the spines of bench/run.sh and bench/mysql.sh:
#
#  1. generate -> file (Parquet, zstd), no transform         (the native pipeline)
#  2. generate -> passthrough.wasm -> file (Parquet, none)    (the Wasm stage's largest share)
#  3. MySQL -> passthrough.wasm -> MySQL, FULL_TABLE          (bench/mysql.sh's load)
#
# Prints the median seconds of each and the ratio after/before (< 1: the new one is faster).
#
#   bench/compare.sh BEFORE_BIN [AFTER_BIN] [ROWS] [MYSQL_ROWS] [REPEATS]
#   defaults: target/release/fastlane, 5000000 rows, 1000000 MySQL rows, 5 repeats
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$(realpath "${1:?usage: bench/compare.sh BEFORE_BIN [AFTER_BIN] [ROWS] [MYSQL_ROWS] [REPEATS]}")
AFTER=$(realpath "${2:-target/release/fastlane}")
ROWS=${3:-5000000}
MYSQL_ROWS=${4:-1000000}
REPEATS=${5:-5}
OUT=bench/out/compare
mkdir -p "$OUT"
for bin in "$BEFORE" "$AFTER"; do [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }; done

bash scripts/build-transforms.sh >/dev/null
services_env="$(bash scripts/services.sh up mariadb)"
eval "$services_env"
H=$FASTLANE_TEST_MYSQL_HOST
P=$FASTLANE_TEST_MYSQL_PORT
sql() { mariadb --no-defaults -h"$H" -P"$P" -uroot "$@"; }

file_config() { # $1: transform section (JSON or null), $2: output file, $3: Parquet compression
  cat <<JSON
{ "source": { "generate": { "rows": $ROWS, "batch_size": 65536, "seed": 1 } },
  "transform": $1,
  "target": { "file": { "path": "$2", "compression": "$3" } },
  "max_buffered_batches": 8 }
JSON
}
file_config null "$OUT/native.parquet" zstd > "$OUT/native.json"
file_config '{ "wasm": "transforms/dist/passthrough.wasm", "concurrency": 2 }' "$OUT/wasm.parquet" none > "$OUT/wasm.json"

echo "==> creating fl_compare.events ($MYSQL_ROWS rows)" >&2
sql -e "DROP DATABASE IF EXISTS fl_compare; CREATE DATABASE fl_compare;
  DROP DATABASE IF EXISTS fl_compare_copy; CREATE DATABASE fl_compare_copy;
  CREATE TABLE fl_compare.events (id BIGINT PRIMARY KEY, user_id INT, event_type VARCHAR(32),
    amount DECIMAL(12,2), created_at DATETIME, payload VARCHAR(200));
  INSERT INTO fl_compare.events SELECT seq, seq * 7919 % 100000,
    ELT(1 + seq % 5, 'view', 'click', 'add_to_cart', 'purchase', 'refund'),
    IF(seq % 11 = 0, NULL, (seq * 37 % 1000000) / 100),
    '2024-01-01 00:00:00' + INTERVAL seq SECOND,
    SUBSTRING(REPEAT(MD5(seq), 7), 1, 50 + seq % 150)
    FROM fl_compare.seq_1_to_$MYSQL_ROWS;"
cat > "$OUT/mysql.json" <<JSON
{ "source": { "mysql": { "host": "$H", "port": $P, "username": "root", "db": "fl_compare",
                         "table": "events", "key": "id" } },
  "transform": { "wasm": "transforms/dist/passthrough.wasm", "concurrency": 2 },
  "target": { "mysql": { "host": "$H", "port": $P, "username": "root", "db": "fl_compare_copy",
                         "table": "events", "concurrency": 2 } },
  "replication_mode": "FULL_TABLE" }
JSON

# Each binary keeps its own component cache; both are warmed outside the measurements.
run() { # $1: before|after, $2: case, $3: repeat
  local bin=$BEFORE
  [ "$1" = after ] && bin=$AFTER
  FASTLANE_CACHE_DIR=$PWD/$OUT/cache-$1 /usr/bin/time -f '%e' -o "$OUT/$1-$2-$3.time" \
    "$bin" run --config "$OUT/$2.json" >/dev/null 2>"$OUT/$1-$2-$3.log" ||
    { echo "$1 failed on $2 (see $OUT/$1-$2-$3.log)" >&2; exit 1; }
}
for variant in before after; do run "$variant" wasm 0; done
rm -f "$OUT"/*.time
for i in $(seq "$REPEATS"); do
  for case in native wasm mysql; do
    # Which binary goes first alternates between repeats.
    order="before after"
    [ $((i % 2)) -eq 0 ] && order="after before"
    for variant in $order; do
      echo "==> $case, $variant, run $i/$REPEATS" >&2
      run "$variant" "$case" "$i"
    done
  done
done
[ "$(sql -N -e 'SELECT COUNT(*) FROM fl_compare_copy.events')" = "$MYSQL_ROWS" ]

python3 - "$OUT" "$REPEATS" "$ROWS" "$MYSQL_ROWS" <<'PY'
import statistics, sys
out, repeats, rows, mysql_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
names = {
    "native": f"generate -> file (Parquet zstd), {rows:,} rows",
    "wasm": f"generate -> passthrough.wasm -> file (Parquet none), {rows:,} rows",
    "mysql": f"MySQL -> passthrough.wasm -> MySQL FULL_TABLE, {mysql_rows:,} rows",
}
for case, name in names.items():
    runs = {v: [float(open(f"{out}/{v}-{case}-{i}.time").read().split()[0]) for i in range(1, repeats + 1)]
            for v in ("before", "after")}
    before, after = statistics.median(runs["before"]), statistics.median(runs["after"])
    print(f"| {name} | before {before:.2f} s | after {after:.2f} s | after/before {after / before:.3f} |")
    print(f"  runs: before {runs['before']}, after {runs['after']}")
PY
