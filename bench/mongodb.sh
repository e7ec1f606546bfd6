#!/usr/bin/env bash
# MongoDB source speed on the private MongoDB-protocol server of scripts/services.sh (nx-27017):
# ROWS documents, read by `fastlane run --source mongodb --target file` (keyset pages -> Arrow ->
# Parquet) against the server's own bulk read, pymongo iterating one `find()` over the whole
# collection (raw BSON, no decoding: the cheapest a client can read). Variants alternate within
# each repeat so machine drift hits both alike; medians are reported.
#
#   bench/mongodb.sh [ROWS] [REPEATS]      defaults: 1000000 rows, 3 repeats
#
# nx-27017 is a Python server on the same 2 cores: its CPU time is part of both numbers. It
# evaluates `$gt` on ObjectIds in Python (a scan of the collection per page) but on numbers in
# SQL, so the documents carry an indexed integer `seq` and the source pages on it
# (`replication_key: "seq"`), as a deployment would page on an indexed key. The collection is
# loaded once (pymongo `insert_many`, a few minutes for 1M documents) and kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
REPEATS=${2:-3}
OUT=bench/out/mongodb
mkdir -p "$OUT"

services_env="$(bash scripts/services.sh up mongodb)"
eval "$services_env"
cargo build --release --bin fastlane
FASTLANE=$PWD/target/release/fastlane
URI=$FASTLANE_TEST_MONGODB_URI

VENV=bench/.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check 'pymongo==4.*' >&2

cat >"$OUT/load.py" <<'PY'
# Load ROWS documents into fl_bench.events unless it already holds exactly them.
import datetime, hashlib, sys, time
import pymongo
from bson import ObjectId
uri, rows = sys.argv[1], int(sys.argv[2])
events = pymongo.MongoClient(uri).fl_bench.events
if events.count_documents({}) == rows and events.find_one({"seq": rows}) is not None:
    print(f"fl_bench.events already holds {rows} documents", file=sys.stderr)
    sys.exit(0)
events.drop()
start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
types = ["view", "click", "add_to_cart", "purchase", "refund"]
began = time.perf_counter()
for first in range(1, rows + 1, 10_000):
    docs = []
    for seq in range(first, min(first + 10_000, rows + 1)):
        md5 = hashlib.md5(str(seq).encode()).hexdigest()
        docs.append({
            # Increasing ObjectIds: a timestamp, then the sequence number.
            "_id": ObjectId(f"{1_704_067_200 + seq // 1000:08x}{seq:016x}"),
            "seq": seq,
            "user_id": seq * 7919 % 100_000,
            "event_type": types[seq % 5],
            "amount": None if seq % 11 == 0 else (seq * 37 % 1_000_000) / 100,
            "created_at": start + datetime.timedelta(seconds=seq),
            "payload": (md5 * 7)[: 50 + seq % 150],
        })
    events.insert_many(docs, ordered=False)
events.create_index("seq")
print(f"loaded {rows} documents in {time.perf_counter() - began:.0f} s", file=sys.stderr)
PY

cat >"$OUT/pymongo_read.py" <<'PY'
# Read every document of fl_bench.events with one find(), as raw BSON; print rows/s as JSON.
import json, sys, time
import pymongo
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
uri, rows = sys.argv[1], int(sys.argv[2])
events = pymongo.MongoClient(uri).fl_bench.get_collection(
    "events", codec_options=CodecOptions(document_class=RawBSONDocument))
began = time.perf_counter()
read = sum(1 for _ in events.find({}, batch_size=10_000))
seconds = time.perf_counter() - began
assert read == rows, read
print(json.dumps({"rows": read, "seconds": seconds, "rows_per_s": read / seconds}))
PY

echo "==> loading fl_bench.events ($ROWS documents) if needed" >&2
"$VENV/bin/python" "$OUT/load.py" "$URI" "$ROWS"

cat >"$OUT/fastlane.json" <<JSON
{ "source": { "mongodb": { "uri": "$URI", "database": "fl_bench", "collection": "events",
                           "replication_key": "seq", "batch_size": 10000 } },
  "target": { "file": { "path": "$OUT/out.parquet" } } }
JSON

rm -f "$OUT"/*.summary.json "$OUT"/*.read
for i in $(seq "$REPEATS"); do
  echo "==> run $i/$REPEATS: fastlane mongodb -> file" >&2
  "$FASTLANE" run --source mongodb --target file --config "$OUT/fastlane.json" \
    --summary-json "$OUT/fastlane-$i.summary.json" >/dev/null
  echo "==> run $i/$REPEATS: pymongo find()" >&2
  "$VENV/bin/python" "$OUT/pymongo_read.py" "$URI" "$ROWS" >"$OUT/pymongo-$i.read"
done
rm -f "$OUT/out.parquet"

python3 - "$OUT" "$ROWS" "$REPEATS" <<'PY'
import json, statistics, sys
out, rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ours = [json.load(open(f"{out}/fastlane-{i}.summary.json")) for i in range(1, repeats + 1)]
for s in ours:
    assert s["status"] == "completed" and s["rows_loaded"] == rows, s
theirs = [json.load(open(f"{out}/pymongo-{i}.read")) for i in range(1, repeats + 1)]
ours_rate = statistics.median(s["rows_per_second"] for s in ours)
their_rate = statistics.median(r["rows_per_s"] for r in theirs)
rss_mib = max(s["peak_rss_bytes"] for s in ours) / 2**20
print(f"| read {rows:,} documents (nx-27017) | fastlane mongodb -> Parquet file {ours_rate:,.0f} rows/s "
      f"| pymongo find() raw BSON {their_rate:,.0f} rows/s | ratio {ours_rate / their_rate:.2f} "
      f"| fastlane peak RSS {rss_mib:.0f} MiB |")
print(f"runs: fastlane {[round(s['wall_seconds'], 2) for s in ours]} s, "
      f"pymongo {[round(r['seconds'], 2) for r in theirs]} s")
PY
