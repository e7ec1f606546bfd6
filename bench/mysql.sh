#!/usr/bin/env bash
# MySQL benchmarks, side by side in one invocation on the private MariaDB of scripts/services.sh:
#
#  1. load: a ROWS-row `events` table, MySQL -> passthrough.wasm -> MySQL (FULL_TABLE), against
#     `mariadb-dump | mariadb` of the same table; wall time ratio and our peak RSS.
#  2. extract: MySQL -> Arrow, discarded (examples/bench_extract), against ConnectorX reading the
#     same table into Arrow; rows/s ratio.
#
# Variants alternate within each repeat so machine drift hits both alike; medians are reported.
#
#   bench/mysql.sh [ROWS] [REPEATS]      defaults: 1000000 rows, 3 repeats
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
REPEATS=${2:-3}
OUT=bench/out/mysql
mkdir -p "$OUT"

bash scripts/setup.sh
bash scripts/build-transforms.sh >/dev/null
services_env="$(bash scripts/services.sh up mariadb)"
eval "$services_env"
cargo build --release --bin fastlane --example bench_extract
FASTLANE=$PWD/target/release/fastlane
export FASTLANE_CACHE_DIR=$PWD/$OUT/cache

VENV=bench/.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q 'connectorx==0.4.*' pyarrow >&2

H=$FASTLANE_TEST_MYSQL_HOST
P=$FASTLANE_TEST_MYSQL_PORT
sql() { mariadb --no-defaults -h"$H" -P"$P" -uroot "$@"; }

echo "==> creating fl_bench.events ($ROWS rows)" >&2
sql -e "DROP DATABASE IF EXISTS fl_bench; CREATE DATABASE fl_bench;
  DROP DATABASE IF EXISTS fl_bench_dump; CREATE DATABASE fl_bench_dump;
  DROP DATABASE IF EXISTS fl_bench_copy; CREATE DATABASE fl_bench_copy;
  CREATE TABLE fl_bench.events (id BIGINT PRIMARY KEY, user_id INT, event_type VARCHAR(32),
    amount DECIMAL(12,2), created_at DATETIME, payload VARCHAR(200));
  INSERT INTO fl_bench.events SELECT seq, seq * 7919 % 100000,
    ELT(1 + seq % 5, 'view', 'click', 'add_to_cart', 'purchase', 'refund'),
    IF(seq % 11 = 0, NULL, (seq * 37 % 1000000) / 100),
    '2024-01-01 00:00:00' + INTERVAL seq SECOND,
    SUBSTRING(REPEAT(MD5(seq), 7), 1, 50 + seq % 150)
    FROM fl_bench.seq_1_to_$ROWS;"

cat > "$OUT/load.json" <<JSON
{ "source": { "mysql": { "host": "$H", "port": $P, "username": "root", "db": "fl_bench",
                         "table": "events", "key": "id" } },
  "transform": { "wasm": "transforms/dist/passthrough.wasm", "concurrency": 2 },
  "target": { "mysql": { "host": "$H", "port": $P, "username": "root", "db": "fl_bench_copy",
                         "table": "events", "concurrency": 2 } },
  "replication_mode": "FULL_TABLE" }
JSON
cat > "$OUT/extract.json" <<JSON
{ "source": { "mysql": { "host": "$H", "port": $P, "username": "root", "db": "fl_bench",
                         "table": "events", "key": "id" } } }
JSON
cat > "$OUT/cx_extract.py" <<'PY'
import json, sys, time
import connectorx as cx
url, rows = sys.argv[1], int(sys.argv[2])
started = time.perf_counter()
table = cx.read_sql(url, "SELECT * FROM events", return_type="arrow")
seconds = time.perf_counter() - started
assert table.num_rows == rows, table.num_rows
print(json.dumps({"rows": table.num_rows, "seconds": seconds, "rows_per_s": table.num_rows / seconds}))
PY

# Warm the component cache and the server's buffer pool once, outside the measurements.
"$FASTLANE" run --config "$OUT/load.json" >/dev/null 2>&1

timed() { # $1: result file, rest: command; writes "seconds max_rss_kib"
  local result=$1; shift
  /usr/bin/time -f '%e %M' -o "$result" bash -c "$*" >/dev/null
}
rm -f "$OUT"/*.time "$OUT"/*.extract
for i in $(seq "$REPEATS"); do
  echo "==> load, run $i/$REPEATS: mariadb-dump | mariadb" >&2
  sql -e "DROP TABLE IF EXISTS fl_bench_dump.events"
  timed "$OUT/dump-$i.time" "mariadb-dump --no-defaults -h$H -P$P -uroot --single-transaction fl_bench events | mariadb --no-defaults -h$H -P$P -uroot fl_bench_dump"
  echo "==> load, run $i/$REPEATS: fastlane mysql -> passthrough.wasm -> mysql" >&2
  timed "$OUT/fastlane-$i.time" "'$FASTLANE' run --config '$OUT/load.json' --summary-json '$OUT/fastlane-$i.summary.json'"
  echo "==> extract, run $i/$REPEATS" >&2
  ./target/release/examples/bench_extract "$OUT/extract.json" > "$OUT/fastlane-$i.extract"
  "$VENV/bin/python" "$OUT/cx_extract.py" "mysql://root@$H:$P/fl_bench" "$ROWS" > "$OUT/connectorx-$i.extract"
done
# The copies must be complete.
[ "$(sql -N -e 'SELECT COUNT(*) FROM fl_bench_copy.events')" = "$ROWS" ]
[ "$(sql -N -e 'SELECT COUNT(*) FROM fl_bench_dump.events')" = "$ROWS" ]

python3 - "$OUT" "$ROWS" "$REPEATS" <<'PY'
import json, statistics, sys
out, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def times(name): return [tuple(map(float, open(f"{out}/{name}-{i}.time").read().split())) for i in range(1, repeats + 1)]
def extract(name): return [json.load(open(f"{out}/{name}-{i}.extract")) for i in range(1, repeats + 1)]
dump, ours = times("dump"), times("fastlane")
dump_s, ours_s = statistics.median(t[0] for t in dump), statistics.median(t[0] for t in ours)
rss_mib = max(t[1] for t in ours) / 1024
fx, cx = extract("fastlane"), extract("connectorx")
fx_rate, cx_rate = statistics.median(r["rows_per_s"] for r in fx), statistics.median(r["rows_per_s"] for r in cx)
print(f"| load {rows:,} rows MySQL -> passthrough.wasm -> MySQL | fastlane {ours_s:.2f} s | mariadb-dump pipe {dump_s:.2f} s | ratio {ours_s / dump_s:.2f} (goal <= 0.7) | peak RSS {rss_mib:.0f} MiB (goal <= 150) |")
print(f"| extract {rows:,} rows MySQL -> Arrow | fastlane {fx_rate:,.0f} rows/s | ConnectorX {cx_rate:,.0f} rows/s | ratio {fx_rate / cx_rate:.2f} (goal >= 1.0) |")
print(f"runs: dump {[t[0] for t in dump]}, fastlane {[t[0] for t in ours]}, extract fastlane {[round(r['seconds'], 2) for r in fx]}, connectorx {[round(r['seconds'], 2) for r in cx]}")
PY
