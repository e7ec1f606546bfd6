"""The author-facing API: Table, Column, compare, with_column, errors and the export glue."""

import datetime as dt
import math
from decimal import Decimal

import pyarrow as pa
import pytest
from arrow_util import from_stream, to_stream

from fastlane_guest import (Column, ColumnNotFound, Failed, InvalidConfig, InvalidInput, Table,
                            Transform, _runtime, export, types)
from fastlane_guest.ipc import read_stream, write_stream


def sdk_table(pa_table):
    _, (table,) = read_stream(to_stream(pa_table))
    return table


def roundtrip(table):
    return from_stream(write_stream(table.schema, [table]))


def test_table_basics():
    t = Table({"id": [1, 2, 3], "name": ["a", None, "c"]}, types={"id": "int32"})
    assert t.column_names == ["id", "name"]
    assert t.num_rows == 3 and len(t) == 3 and t.num_columns == 2
    assert t["id"].type == types.int32() and t["name"].type == types.utf8()
    assert list(t["name"]) == ["a", None, "c"] and t["name"][2] == "c" and t["name"][-1] == "c"
    assert t["name"] == ["a", None, "c"]
    assert "id" in t and "nope" not in t
    assert t.to_pylist()[1] == {"id": 2, "name": None}
    assert t.to_pydict() == {"id": [1, 2, 3], "name": ["a", None, "c"]}
    assert t["name"].null_count == 1
    assert t["name"].is_null() == [False, True, False]
    assert t["name"].is_valid() == [True, False, True]


def test_missing_column_is_invalid_input_naming_it():
    t = Table({"a": [1]})
    with pytest.raises(InvalidInput, match=r"column `b` not found \(columns: a\)"):
        t["b"]
    with pytest.raises(KeyError):
        t["b"]
    assert isinstance(ColumnNotFound("x", []), InvalidInput)


def test_with_column_replaces_keeping_type_and_field():
    source = pa.table({"n": pa.array([1, 2], pa.int16()), "s": pa.array(["x", "y"], pa.large_utf8())})
    source = source.cast(pa.schema([pa.field("n", pa.int16(), False, {"unit": "kg"}),
                                    pa.field("s", pa.large_utf8())]))
    t = sdk_table(source).with_column("n", [10, 20]).with_column("s", ["p", None])
    got = roundtrip(t)
    assert got.schema.field("n").type == pa.int16() and not got.schema.field("n").nullable
    assert got.schema.field("n").metadata == {b"unit": b"kg"}
    assert got.schema.field("s").type == pa.large_utf8()
    assert got.to_pydict() == {"n": [10, 20], "s": ["p", None]}
    with pytest.raises(ValueError, match="not nullable"):
        t.with_column("n", [1, None])
    with pytest.raises(ValueError, match="2 rows|values for a table"):
        t.with_column("n", [1])


def test_with_column_appends_inferred_or_explicit_types():
    t = Table({"id": [1, 2]})
    t = (t.with_column("f", [1, 2.5]).with_column("b", [True, None])
         .with_column("d", [dt.date(2020, 1, 1), None])
         .with_column("ts", [dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc), None])
         .with_column("dec", [Decimal("1.50"), Decimal("2")])
         .with_column("u", [1, 2], type=types.uint8())
         .with_column("none", [None, None]))
    got = roundtrip(t)
    assert got.schema.types == [pa.int64(), pa.float64(), pa.bool_(), pa.date32(),
                                pa.timestamp("us", "UTC"), pa.decimal128(38, 2), pa.uint8(),
                                pa.null()]
    assert got.column("dec").to_pylist() == [Decimal("1.50"), Decimal("2.00")]


def test_values_that_do_not_fit_fail_where_given():
    t = Table({"id": [1, 2]})
    with pytest.raises(ValueError, match=r"`u`.*300"):
        t.with_column("u", [1, 300], type="uint8")
    with pytest.raises(ValueError, match="`s`"):
        t.with_column("s", ["a", 5], type="utf8")
    with pytest.raises(ValueError, match="decimal places"):
        t.with_column("p", [Decimal("1.234"), None], type=types.decimal128(5, 2))
    with pytest.raises(ValueError, match="infer"):
        t.with_column("mix", ["a", 1])


def test_select_drop_rename_slice_metadata():
    t = Table({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [True, False, None]}, metadata={"k": "v"})
    assert t.select(["c", "a"]).column_names == ["c", "a"]
    assert t.drop("b").column_names == ["a", "c"]
    renamed = t.rename({"a": "alpha"})
    assert renamed.column_names == ["alpha", "b", "c"] and renamed["alpha"] == [1, 2, 3]
    assert t.slice(1).to_pydict() == {"a": [2, 3], "b": ["y", "z"], "c": [False, None]}
    assert t.slice(0, 0).num_rows == 0
    got = roundtrip(t.with_metadata({"x": "y"}))
    assert got.schema.metadata == {b"x": b"y"}
    assert roundtrip(t).schema.metadata == {b"k": b"v"}


def test_filter_accepts_lists_bytes_and_boolean_columns():
    t = Table({"a": [1, 2, 3, 4]})
    assert t.filter([True, None, 1, 0])["a"] == [1, 3]
    assert t.filter(b"\x00\x01\x00\x01")["a"] == [2, 4]
    assert t.filter(Column([True, None, True, False]))["a"] == [1, 3]
    assert t.filter(t["a"].compare("ge", 3))["a"] == [3, 4]
    with pytest.raises(ValueError, match="3 entries for 4 rows"):
        t.filter([True] * 3)


def test_compare_floats_in_total_order():
    values = [float("nan"), float("inf"), 1.0, 0.0, -0.0, float("-inf"), None, -1.5]
    c = Column(values, "float64")
    assert c.compare("gt", 0.0) == [True, True, True, False, False, False, False, False]
    assert c.compare("eq", 0.0) == [False, False, False, True, False, False, False, False]
    assert c.compare("lt", 0.0) == [False, False, False, False, True, True, False, True]
    assert c.compare("eq", float("nan")) == [True] + [False] * 7
    assert c.compare("gt", float("inf")) == [True] + [False] * 7
    assert c.compare("ge", 1.0) == [True, True, True] + [False] * 5
    f32 = Column([0.1, None, 0.5], "float32")
    assert f32.compare("eq", 0.1) == [True, False, False]  # the comparand is rounded to f32


def test_compare_other_kinds():
    assert Column(["b", "é", None, "a"]).compare("gt", "b") == [False, True, False, False]
    assert Column([True, False, None]).compare("lt", True) == [False, True, False]
    assert Column([1, 2, None], "uint8").compare("lt", 2.5) == [True, True, False]
    d = Column([dt.date(2020, 1, 1), dt.date(2021, 1, 1), None])
    assert d.compare("ge", dt.date(2020, 6, 1)) == [False, True, False]
    ts = Column([dt.datetime(2020, 1, 1, 0, 0, 1)], types.timestamp("s"))
    assert ts.compare("gt", dt.datetime(2020, 1, 1, 0, 0, 0, 500000)) == [True]
    price = Column([Decimal("1.25"), Decimal("1.30")], types.decimal128(5, 2))
    assert price.compare("eq", Decimal("1.3")) == [False, True]
    assert price.compare("gt", 1.26) == [False, True]
    with pytest.raises(ValueError, match="unknown comparison"):
        price.compare("like", 1)


def test_cast():
    c = Column([1, None, 3], "int32")
    assert c.cast("float64").type == types.float64() and c.cast("float64") == [1.0, None, 3.0]
    assert Column([2**63 - 1]).cast("float64") == [float(2**63 - 1)]
    assert c.cast("utf8") == ["1", None, "3"]
    with pytest.raises(ValueError):
        Column([1.5]).cast("int64")


def test_nan_payloads_and_signed_zero_survive_a_filter():
    source = pa.table({"x": pa.array([-0.0, float("nan"), 1.0, -float("nan")])})
    out = roundtrip(sdk_table(source).filter([True, True, False, True]))
    bits = [struct_bits(v) for v in out.column("x").to_pylist()]
    assert bits == [struct_bits(v) for v in [-0.0, float("nan"), -float("nan")]]
    assert math.copysign(1, out.column("x")[0].as_py()) == -1


def struct_bits(v):
    import struct
    return struct.pack("<d", v)


# -- the export glue (what the component's exports do) -----------------------------------------

class Upper(Transform):
    name = "upper"
    version = "1.2.3"
    description = "Upper-cases a column"
    config_schema = {"type": "object"}

    def init(self, config):
        if "column" not in config:
            raise InvalidConfig("missing `column`")
        self.column = config["column"]

    def transform(self, table):
        if self.column == "boom":
            return 1 / 0
        if self.column == "none":
            return None
        col = table[self.column]
        return table.with_column(self.column, [None if v is None else v.upper() for v in col])


def test_runtime_maps_errors_and_runs_batches():
    export(Upper)
    assert _runtime.describe() == ("upper", "1.2.3", "Upper-cases a column",
                                   '{\n  "type": "object"\n}')
    assert _runtime.run(_runtime.transform, b"") == ("failed", "init was not called (or failed)")
    assert _runtime.run(_runtime.init, "{nope") [0] == "invalid-config"
    assert _runtime.run(_runtime.init, "[]")[0] == "invalid-config"
    assert _runtime.run(_runtime.init, "") == ("invalid-config", "missing `column`")
    assert _runtime.run(_runtime.init, '{"column": "s"}') == ("ok", None)
    data = to_stream(pa.table({"s": ["ab", None]}), pa.table({"s": ["ç"]}))
    kind, out = _runtime.run(_runtime.transform, data)
    assert kind == "ok" and from_stream(out).to_pydict() == {"s": ["AB", None, "Ç"]}
    kind, message = _runtime.run(_runtime.transform, b"junk")
    assert kind == "invalid-input"
    assert _runtime.run(_runtime.finish) == ("ok", None)

    _runtime.init('{"column": "t"}')
    kind, message = _runtime.run(_runtime.transform, data)
    assert (kind, message) == ("invalid-input", "column `t` not found (columns: s)")

    _runtime.init('{"column": "boom"}')
    kind, message = _runtime.run(_runtime.transform, data)
    assert kind == "failed" and message.startswith("ZeroDivisionError: division by zero (at ")

    _runtime.init('{"column": "none"}')
    assert _runtime.run(_runtime.transform, data) == ("ok", b"")


def test_schema_only_input_gives_an_empty_table_to_transform():
    export(Upper)
    _runtime.init('{"column": "s"}')
    sink = pa.BufferOutputStream()
    pa.ipc.new_stream(sink, pa.schema([("s", pa.utf8())])).close()
    out = from_stream(_runtime.transform(sink.getvalue().to_pybytes()))
    assert out.num_rows == 0 and out.schema.names == ["s"]


def test_exceptions_escaping_export_become_failed():
    class Bad(Transform):
        def transform(self, table):
            raise SystemExit(3)

    export(Bad)
    _runtime.init("{}")
    kind, message = _runtime.run(_runtime.transform, to_stream(pa.table({"a": [1]})))
    assert kind == "failed" and "SystemExit" in message

    class Wrong(Transform):
        def transform(self, table):
            return {"a": [1]}

    export(Wrong)
    _runtime.init("{}")
    assert _runtime.run(_runtime.transform, to_stream(pa.table({"a": [1]})))[0] == "failed"
    with pytest.raises(Failed):
        _runtime.encode([Table({"a": [1]}), Table({"b": [1]})])
