"""End-to-end: run filter/mask components of two languages through `fastlane run`, compare outputs.

    python e2e_compare.py [--fastlane BIN] [--dist DIR] [--suffix py] [--quick]

For every config, both the Rust component (DIR/filter.wasm) and the other one
(DIR/filter-SUFFIX.wasm) run on the same Parquet input (the columns of transforms/README.md);
their outputs must be equal (schema with nullability and metadata, values NaN-aware), or both
runs must fail with the same error kind. Each config also runs with `batch_size` 7 and with
transform concurrency 2. Needs pyarrow. Exits non-zero on any difference.
"""

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from arrow_util import same_values  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
NAN, INF = float("nan"), float("inf")


def make_input(path, rows=120, seed=3):
    """The README's test input: every listed type, nulls in every nullable column."""
    rng = random.Random(seed)

    def maybe(value, p=0.15):
        return None if rng.random() < p else value

    floats = [NAN, -0.0, 0.0, INF, -INF, 1.0, 100.0, 100.5, -2.5, 1e-300, 123456.789]
    words = ["alice", "", "日本", "ümlaut", "𝄞 music", "paid", "100", "true", "Zed", "a@b.c"]
    columns = {
        "id": pa.array(range(rows), pa.int64()),
        "i8": pa.array([maybe(rng.randint(-128, 127)) for _ in range(rows)], pa.int8()),
        "i16": pa.array([maybe(rng.randint(-32768, 32767)) for _ in range(rows)], pa.int16()),
        "i32": pa.array([maybe(rng.choice([0, 1, 2, -1, 2**31 - 1, -2**31])) for _ in range(rows)], pa.int32()),
        "u8": pa.array([maybe(rng.randint(0, 255)) for _ in range(rows)], pa.uint8()),
        "u16": pa.array([maybe(rng.randint(0, 65535)) for _ in range(rows)], pa.uint16()),
        "u32": pa.array([maybe(rng.randint(0, 2**32 - 1)) for _ in range(rows)], pa.uint32()),
        "u64": pa.array([maybe(rng.choice([0, 1, 2**53 + 1, 2**63, 2**64 - 1])) for _ in range(rows)], pa.uint64()),
        "f32": pa.array([maybe(rng.choice(floats + [0.1, 2.5])) for _ in range(rows)], pa.float32()),
        "amount": pa.array([maybe(rng.choice(floats)) for _ in range(rows)], pa.float64()),
        "flag": pa.array([maybe(rng.random() < 0.5) for _ in range(rows)], pa.bool_()),
        "name": pa.array([maybe(rng.choice(words)) for _ in range(rows)], pa.utf8()),
        "email": pa.array([maybe("user%d@example.com" % rng.randint(0, 50)) for _ in range(rows)], pa.utf8()),
        "note": pa.array([maybe(rng.choice(words)) for _ in range(rows)], pa.large_utf8()),
        "blob": pa.array([maybe(bytes([rng.randint(0, 255)]) * rng.randint(0, 3)) for _ in range(rows)], pa.binary()),
        "day": pa.array([maybe(dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(-400, 400))) for _ in range(rows)], pa.date32()),
        "at": pa.array([maybe(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=rng.randint(0, 10**7))) for _ in range(rows)], pa.timestamp("us", "UTC")),
        "local": pa.array([maybe(dt.datetime(2024, 1, 1) + dt.timedelta(milliseconds=rng.randint(0, 10**9))) for _ in range(rows)], pa.timestamp("ms")),
        "price": pa.array([maybe(Decimal(rng.randint(-10**6, 10**6)) / 100) for _ in range(rows)], pa.decimal128(12, 2)),
    }
    fields = [pa.field(n, a.type, nullable=(n != "id"), metadata={"origin": n} if n == "amount" else None)
              for n, a in columns.items()]
    table = pa.Table.from_arrays(list(columns.values()), schema=pa.schema(fields, metadata={"source": "e2e"}))
    pq.write_table(table, path)
    return table


FILTER_CONFIGS = (
    [{"column": c, "op": op, "value": v}
     for c, v in [("amount", 100), ("amount", 0), ("amount", -0.0), ("amount", "NaN"), ("amount", "inf"),
                  ("amount", 100.5), ("amount", "-inf"), ("f32", 0.1), ("f32", 2.5), ("f32", "1e40"),
                  ("i8", 0), ("i8", 2.5), ("i8", 300), ("i8", "-5"), ("i16", 1000), ("i32", 2147483647),
                  ("i32", -0.0), ("u8", 300), ("u8", 127), ("u8", -1), ("u8", " 12 "), ("u16", "100"),
                  ("u32", 4e9), ("u64", 9007199254740993), ("u64", 2**63), ("u64", 1.8446744073709552e19),
                  ("id", 50), ("id", "60"), ("id", 1e20),
                  ("name", "alice"), ("name", ""), ("name", "ümlaut"), ("name", 100), ("name", True), ("name", 1.5e300),
                  ("note", "日本"), ("flag", True), ("flag", "false"), ("flag", "yes"), ("flag", 1),
                  ("day", "2024-01-01"), ("day", "2024-1-5"), ("day", "20240301"), ("day", " 2024-02-29 "),
                  ("day", "2024-03-01T23:30:00-02:00")]
     for op in ("eq", "ne", "gt", "ge", "lt", "le")]
    + [{"column": c, "op": op} for c in ("amount", "name", "flag", "day", "id", "blob", "price")
       for op in ("is_null", "is_not_null")]
    + [  # errors
        {"column": "i8", "op": "gt", "value": "lots"},
        {"column": "day", "op": "gt", "value": "2024-02-30"},
        {"column": "flag", "op": "eq", "value": 2},
        {"column": "amount", "op": "gt", "value": "abc"},
        {"column": "missing", "op": "gt", "value": 1},
        {"column": "missing", "op": "is_null"},
    ]
)

MASK_CONFIGS = [
    {"columns": ["email"]},
    {"columns": ["email", "name"], "salt": "pepper"},
    {"columns": ["note", "name"], "method": "redact"},
    {"columns": ["name"], "method": "redact", "replacement": "█"},
    {"columns": ["name", "name"]},
    {"columns": ["missing"]},
    {"columns": ["id"]},
    {"columns": ["email"], "method": "hash", "salt": "日本"},
]


def run(fastlane, wasm, config, source, out, batch_size=None, concurrency=1):
    src = {"path": source}
    if batch_size:
        src["batch_size"] = batch_size
    pipeline = {"source": {"file": src},
                "transform": {"wasm": wasm, "config": config, "concurrency": concurrency},
                "target": {"file": {"path": out}}}
    if os.path.exists(out):
        os.remove(out)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(pipeline, f)
    try:
        proc = subprocess.run([fastlane, "run", "--config", f.name], capture_output=True, text=True,
                              timeout=600)
    finally:
        os.remove(f.name)
    if proc.returncode == 0:
        return "ok", pq.read_table(out)
    kind = re.search(r"(invalid-config|invalid-input|failed)", proc.stderr)
    return (kind.group(1) if kind else "error"), proc.stderr.strip().splitlines()[-1:]


def same_table(a, b):
    if not a.schema.equals(b.schema, check_metadata=True):
        return "schema differs:\n%s\n---\n%s" % (a.schema, b.schema)
    for name in a.column_names:
        if not same_values(a.column(name).to_pylist(), b.column(name).to_pylist()):
            return "column %s differs" % name
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fastlane", default=os.path.join(REPO, "target", "release", "fastlane"))
    parser.add_argument("--dist", default=os.path.join(REPO, "transforms", "dist"))
    parser.add_argument("--suffix", default="py")
    parser.add_argument("--quick", action="store_true", help="skip the batch_size/concurrency variants")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="fastlane-e2e-")
    source = os.path.join(work, "in.parquet")
    make_input(source)
    variants = [dict()] if args.quick else [dict(), dict(batch_size=7), dict(concurrency=2)]
    failures = checked = 0
    for kind, configs in (("filter", FILTER_CONFIGS), ("mask", MASK_CONFIGS)):
        rust = os.path.join(args.dist, kind + ".wasm")
        other = os.path.join(args.dist, "%s-%s.wasm" % (kind, args.suffix))
        for config in configs:
            for variant in variants:
                a = run(args.fastlane, rust, config, source, os.path.join(work, "a.parquet"), **variant)
                b = run(args.fastlane, other, config, source, os.path.join(work, "b.parquet"), **variant)
                checked += 1
                problem = None
                if a[0] != b[0]:
                    problem = "rust %s %s vs %s %s" % (a[0], a[1] if a[0] != "ok" else "",
                                                      b[0], b[1] if b[0] != "ok" else "")
                elif a[0] == "ok":
                    problem = same_table(a[1], b[1])
                status = "ok" if problem is None else "DIFF"
                rows = a[1].num_rows if a[0] == "ok" else a[0]
                print("%-4s %s %s %s -> %s" % (status, kind, json.dumps(config, ensure_ascii=False),
                                             variant or "", rows))
                if problem:
                    failures += 1
                    print("     " + problem.replace("\n", "\n     "))
    print("%d passed, %d failed" % (checked - failures, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
