"""pyarrow helpers shared by the tests (pyarrow is a test-only dependency)."""

import math

import pyarrow as pa


def to_stream(*tables_or_batches, schema=None, **options):
    """IPC stream bytes of pyarrow tables / record batches."""
    first = tables_or_batches[0]
    sink = pa.BufferOutputStream()
    opts = pa.ipc.IpcWriteOptions(**options) if options else None
    with pa.ipc.new_stream(sink, schema or first.schema, options=opts) as writer:
        for item in tables_or_batches:
            if isinstance(item, pa.Table):
                writer.write_table(item)
            else:
                writer.write_batch(item)
    return sink.getvalue().to_pybytes()


def from_stream(data):
    """pyarrow Table of IPC stream bytes (validated in full)."""
    table = pa.ipc.open_stream(data).read_all()
    table.validate(full=True)
    return table


def same_values(a, b):
    """List equality where NaN equals NaN and -0.0 differs from 0.0."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) and isinstance(y, float):
            if math.isnan(x) and math.isnan(y):
                continue
            if x != y or math.copysign(1, x) != math.copysign(1, y):
                return False
        elif x != y or type(x) is not type(y) and not (x is None or y is None):
            if x != y:
                return False
    return True


def assert_tables_equal(got, expected):
    """Same schema (with metadata and nullability) and same values, NaN-aware."""
    assert got.schema.equals(expected.schema, check_metadata=True), (got.schema, expected.schema)
    for name in expected.column_names:
        a, b = got.column(name).to_pylist(), expected.column(name).to_pylist()
        assert same_values(a, b), (name, a, b)
