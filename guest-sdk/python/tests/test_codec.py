"""The IPC codec against pyarrow, type by type, in both directions, plus filtering on buffers."""

import datetime as dt
import random
import struct
import zoneinfo
from decimal import Decimal

import pyarrow as pa
import pytest
from arrow_util import assert_tables_equal, from_stream, same_values, to_stream

from fastlane_guest import Column, InvalidInput, Table, types
from fastlane_guest.ipc import read_stream, write_stream

UTC = dt.timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")
PLUS_0530 = dt.timezone(dt.timedelta(hours=5, minutes=30))

# name: (pyarrow type, SDK type, Python values as the SDK reads and writes them)
CASES = {
    "i8": (pa.int8(), types.int8(), [-128, None, 0, 127]),
    "i16": (pa.int16(), types.int16(), [-32768, 32767, None, 5]),
    "i32": (pa.int32(), types.int32(), [-2**31, None, 2**31 - 1, 0]),
    "i64": (pa.int64(), types.int64(), [-2**63, 2**63 - 1, None, 42]),
    "u8": (pa.uint8(), types.uint8(), [0, 255, None, 7]),
    "u16": (pa.uint16(), types.uint16(), [0, 65535, None, 1]),
    "u32": (pa.uint32(), types.uint32(), [0, 2**32 - 1, None, 3]),
    "u64": (pa.uint64(), types.uint64(), [0, 2**64 - 1, None, 2**63]),
    "f32": (pa.float32(), types.float32(), [1.5, float("nan"), None, -0.0, float("inf"), -2.25]),
    "f64": (pa.float64(), types.float64(),
            [0.1, float("nan"), -0.0, 0.0, float("-inf"), float("inf"), None, 1e308, 5e-324]),
    "flag": (pa.bool_(), types.bool_(), [True, False, None, True, True, False, False, True, None]),
    "name": (pa.utf8(), types.utf8(), ["ümlaut", "", None, "日本", "𝄞 clef", "plain"]),
    "note": (pa.large_utf8(), types.large_utf8(), ["a", None, "", "😀" * 3]),
    "blob": (pa.binary(), types.binary(), [b"\x00\xff", None, b"", b"abc"]),
    "lblob": (pa.large_binary(), types.large_binary(), [b"x" * 10, b"", None]),
    "fixed": (pa.binary(3), types.fixed_size_binary(3), [b"abc", None, b"\x00\x01\x02"]),
    "day": (pa.date32(), types.date32(),
            [dt.date(2024, 2, 29), None, dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1969, 12, 31)]),
    "day64": (pa.date64(), types.date64(), [dt.date(2024, 1, 1), None, dt.date(1900, 3, 1)]),
    "at": (pa.timestamp("us", "UTC"), types.timestamp("us", "UTC"),
           [dt.datetime(2024, 5, 1, 12, 30, 1, 123456, tzinfo=UTC), None,
            dt.datetime(1960, 1, 1, tzinfo=UTC)]),
    "local": (pa.timestamp("ms"), types.timestamp("ms"),
              [dt.datetime(2024, 5, 1, 12, 30, 1, 123000), None, dt.datetime(1900, 1, 1)]),
    "ts_s": (pa.timestamp("s"), types.timestamp("s"), [dt.datetime(2000, 1, 1, 0, 0, 1), None]),
    "ts_ns": (pa.timestamp("ns", "UTC"), types.timestamp("ns", "UTC"),
              [dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC), None]),
    "ts_ny": (pa.timestamp("us", "America/New_York"), types.timestamp("us", "America/New_York"),
              [dt.datetime(2024, 7, 1, 8, 0, tzinfo=NY), None, dt.datetime(2024, 1, 1, 8, 0, tzinfo=NY)]),
    "ts_off": (pa.timestamp("ms", "+05:30"), types.timestamp("ms", "+05:30"),
               [dt.datetime(2024, 7, 1, 8, 0, tzinfo=PLUS_0530), None]),
    "t32s": (pa.time32("s"), types.time32("s"), [dt.time(0, 0, 0), dt.time(23, 59, 59), None]),
    "t32ms": (pa.time32("ms"), types.time32("ms"), [dt.time(12, 0, 0, 5000), None]),
    "t64us": (pa.time64("us"), types.time64("us"), [dt.time(1, 2, 3, 456789), None]),
    "t64ns": (pa.time64("ns"), types.time64("ns"), [dt.time(1, 2, 3, 4), None]),
    "dur": (pa.duration("ms"), types.duration("ms"), [dt.timedelta(days=-1, milliseconds=5), None]),
    "price": (pa.decimal128(12, 2), types.decimal128(12, 2),
              [Decimal("1234567890.12"), Decimal("-0.01"), None, Decimal("0.00")]),
    "big": (pa.decimal128(38, 10), types.decimal128(38, 10),
            [Decimal("9999999999999999999999999999.9999999999"), None,
             Decimal("-1.0000000001")]),
    "d256": (pa.decimal256(50, 5), types.decimal256(50, 5),
             [Decimal("123456789012345678901234567890123456789012345.12345"), None]),
    "nothing": (pa.null(), types.null(), [None, None, None]),
}


def _case_table(name, nullable=True, metadata=None):
    pa_type, _, values = CASES[name]
    field = pa.field(name, pa_type, nullable=nullable, metadata=metadata)
    return pa.Table.from_arrays([pa.array(values, pa_type)], schema=pa.schema([field]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_pyarrow_writes_sdk_reads(name):
    pa_type, sdk_type, values = CASES[name]
    table = _case_table(name, metadata={"origin": "test"})
    schema, tables = read_stream(to_stream(table))
    (field,) = schema.fields
    assert field.type == sdk_type
    assert field.nullable and field.metadata == {"origin": "test"}
    got = tables[0][name].to_list()
    assert same_values(got, values), (got, values)
    for g, v in zip(got, values):  # time zones survive, not just instants
        if isinstance(v, dt.datetime):
            assert (g.tzinfo is None) == (v.tzinfo is None)
            if v.tzinfo is not None:
                assert g.utcoffset() == v.utcoffset()


@pytest.mark.parametrize("name", sorted(CASES))
def test_sdk_writes_pyarrow_reads(name):
    pa_type, sdk_type, values = CASES[name]
    table = Table({name: values}, types={name: sdk_type})
    got = from_stream(write_stream(table.schema, [table]))
    assert got.schema.field(name).type == pa_type
    assert got.column(name).combine_chunks().equals(pa.array(values, pa_type)) or same_values(
        got.column(name).to_pylist(), pa.array(values, pa_type).to_pylist())


@pytest.mark.parametrize("name", sorted(CASES))
def test_unread_columns_pass_through_unchanged(name):
    original = _case_table(name, metadata={"a": "1"})
    original = original.replace_schema_metadata({"pipeline": "p", "empty": ""})
    schema, tables = read_stream(to_stream(original))
    got = from_stream(write_stream(schema, tables))
    assert_tables_equal(got, original)


def test_non_nullable_fields_and_all_types_together():
    arrays, fields = [], []
    for name, (pa_type, _, values) in sorted(CASES.items()):
        arrays.append(pa.array(values, pa_type))
        fields.append(pa.field(name, pa_type, nullable=True))
    arrays.append(pa.array(range(len(arrays[0])), pa.int64()))
    fields.append(pa.field("id", pa.int64(), nullable=False))
    length = min(len(a) for a in arrays)
    table = pa.Table.from_arrays([a[:length] for a in arrays], schema=pa.schema(fields))
    schema, tables = read_stream(to_stream(table))
    assert schema.field("id").nullable is False
    assert_tables_equal(from_stream(write_stream(schema, tables)), table)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("pattern", ["random", "runs", "all", "none", "alternate", "edges"])
def test_filter_on_buffers_matches_pyarrow(name, pattern):
    pa_type, sdk_type, values = CASES[name]
    rng = random.Random(hash((name, pattern)) & 0xFFFF)
    rows = [rng.choice(values) for _ in range(700)]
    n = len(rows)
    if pattern == "random":
        mask = [rng.random() < 0.5 for _ in range(n)]
    elif pattern == "runs":
        mask = [(i // 97) % 3 == 0 for i in range(n)]
    elif pattern == "all":
        mask = [True] * n
    elif pattern == "none":
        mask = [False] * n
    elif pattern == "alternate":
        mask = [i % 2 == 0 for i in range(n)]
    else:
        mask = [i in (0, 1, n - 1) for i in range(n)]
    source = pa.table({name: pa.array(rows, pa_type), "id": pa.array(range(n), pa.int64())})
    schema, tables = read_stream(to_stream(source))
    filtered = tables[0].filter(mask)
    got = from_stream(write_stream(schema, [filtered]))
    assert_tables_equal(got, source.filter(pa.array(mask)))
    assert same_values(filtered[name].to_list(), [v for v, keep in zip(rows, mask) if keep])


def test_filter_after_decoding_keeps_values_and_buffers_in_step():
    source = pa.table({"s": ["a", None, "ccc", "dd"], "x": [1.0, 2.0, None, 4.0]})
    _, (table,) = read_stream(to_stream(source))
    assert table["s"].to_list() == ["a", None, "ccc", "dd"]  # decode first
    out = table.filter([False, True, True, True])
    assert out["s"].to_list() == [None, "ccc", "dd"]
    assert from_stream(write_stream(out.schema, [out])).equals(source.slice(1))


def test_float16_is_read():
    raw = struct.pack("<4e", 1.5, -2.0, 65504.0, float("inf"))
    arr = pa.Array.from_buffers(pa.float16(), 4, [None, pa.py_buffer(raw)])
    _, (table,) = read_stream(to_stream(pa.table({"h": arr})))
    assert table["h"].to_list() == [1.5, -2.0, 65504.0, float("inf")]
    got = from_stream(write_stream(table.schema, [table.filter([True, False, True, True])]))
    assert got.column("h").type == pa.float16()


def test_several_batches_and_empty_batches():
    schema = pa.schema([("a", pa.int32()), ("s", pa.utf8())])
    b1 = pa.record_batch([pa.array([1, 2]), pa.array(["x", None])], schema=schema)
    b2 = pa.record_batch([pa.array([], pa.int32()), pa.array([], pa.utf8())], schema=schema)
    b3 = pa.record_batch([pa.array([3]), pa.array(["z"])], schema=schema)
    _, tables = read_stream(to_stream(b1, b2, b3))
    assert [t.num_rows for t in tables] == [2, 0, 1]
    got = from_stream(write_stream(tables[0].schema, tables))
    assert got.to_pydict() == {"a": [1, 2, 3], "s": ["x", None, "z"]}
    # Only a schema: the reader returns no batch; the writer still writes one empty batch.
    _, none = read_stream(_schema_only(schema))
    assert none == []


def _schema_only(schema):
    sink = pa.BufferOutputStream()
    pa.ipc.new_stream(sink, schema).close()
    return sink.getvalue().to_pybytes()


def test_empty_output_still_carries_the_schema():
    _, (table,) = read_stream(to_stream(pa.table({"a": [1, 2]})))
    data = write_stream(table.schema, [table.filter([False, False])])
    got = from_stream(data)
    assert got.num_rows == 0 and got.schema == pa.schema([("a", pa.int64())])


def test_offsets_that_do_not_start_at_zero():
    offsets = struct.pack("<4i", 5, 6, 8, 8)
    col = Column.from_buffers(types.utf8(), 3, 0, None, [offsets, b"xxxxxabc"], "s")
    table = Table.from_columns(Table({"s": ["q"]}).schema, [col])
    assert table["s"].to_list() == ["a", "bc", ""]
    got = from_stream(write_stream(table.schema, [table]))
    assert got.column("s").to_pylist() == ["a", "bc", ""]
    for mask in ([True, False, True], [False, True, True], [True] * 3):
        out = table.filter(mask)
        expected = [v for v, m in zip(["a", "bc", ""], mask) if m]
        assert from_stream(write_stream(out.schema, [out])).column("s").to_pylist() == expected


@pytest.mark.parametrize("pa_type,what", [
    (pa.list_(pa.int32()), "List"),
    (pa.struct([("x", pa.int32())]), "Struct"),
    (pa.dictionary(pa.int8(), pa.utf8()), "dictionary"),
    (pa.string_view(), "Utf8View"),
    (pa.month_day_nano_interval(), "Interval"),
])
def test_unsupported_types_are_invalid_input_naming_the_column(pa_type, what):
    if pa_type == pa.list_(pa.int32()):
        values = [[1], None]
    elif pa_type == pa.struct([("x", pa.int32())]):
        values = [{"x": 1}, None]
    elif pa_type == pa.month_day_nano_interval():
        values = [pa.scalar((1, 2, 3), pa_type).as_py(), None]
    else:
        values = ["a", None]
    table = pa.table({"ok": [1, 2], "odd": pa.array(values, pa_type)})
    with pytest.raises(InvalidInput) as e:
        read_stream(to_stream(table))
    assert "`odd`" in str(e.value) and what in str(e.value)


def test_compressed_bodies_are_refused_clearly():
    data = to_stream(pa.table({"a": list(range(1000))}), compression="lz4")
    with pytest.raises(InvalidInput, match="compressed"):
        read_stream(data)


@pytest.mark.parametrize("data", [b"", b"garbage!", b"\xff\xff\xff\xff\x10\x00\x00\x00abc"])
def test_malformed_streams_are_invalid_input(data):
    with pytest.raises(InvalidInput):
        read_stream(data)


def test_truncated_body_is_invalid_input():
    data = to_stream(pa.table({"a": list(range(100))}))
    with pytest.raises(InvalidInput):
        read_stream(data[: len(data) - 300])


def test_nanoseconds_are_refused_not_truncated_and_raw_works():
    arr = pa.array([1_000_000_000_123], pa.timestamp("ns"))
    _, (table,) = read_stream(to_stream(pa.table({"t": arr})))
    with pytest.raises(InvalidInput, match="nanoseconds"):
        table["t"].to_list()
    assert table["t"].to_list(raw=True) == [1_000_000_000_123]


def test_dates_outside_python_range_are_refused_and_raw_works():
    arr = pa.array([3_000_000], pa.date32())
    _, (table,) = read_stream(to_stream(pa.table({"d": arr})))
    with pytest.raises(InvalidInput, match="`d`"):
        table["d"].to_list()
    assert table["d"].to_list(raw=True) == [3_000_000]


def test_float16_is_written():
    table = Table({"h": [1.5, None, -0.0]}, types={"h": types.float16()})
    got = from_stream(write_stream(table.schema, [table]))
    assert got.column("h").type == pa.float16()
    raw = got.column("h").chunk(0).buffers()[1].to_pybytes()[:6]
    assert struct.unpack("<3e", raw)[0] == 1.5 and got.column("h").null_count == 1
