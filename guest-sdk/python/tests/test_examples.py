"""transforms/python/{filter,mask} run natively through the SDK's export path."""

import datetime as dt
import hashlib
import importlib.util
import os
import sys

import pyarrow as pa
import pytest
from arrow_util import from_stream, to_stream

from fastlane_guest import _runtime

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "transforms", "python")


def load(name):
    """Imports transforms/python/<name>/app.py (which calls export) under a unique name."""
    directory = os.path.abspath(os.path.join(EXAMPLES, name))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("example_" + name, os.path.join(directory, "app.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NAN, INF = float("nan"), float("inf")
ORDERS = pa.table({
    "id": pa.array(range(1, 10), pa.int64()),
    "u8": pa.array([0, 1, 2, 255, None, 7, 8, 9, 10], pa.uint8()),
    "amount": pa.array([50.0, 150.0, None, 100.0, NAN, -0.0, 0.0, INF, -INF], pa.float64()),
    "f32": pa.array([0.1, 0.5, None, 1.0, NAN, -0.0, 0.0, 2.5, -1.0], pa.float32()),
    "status": pa.array(["paid", None, "paid", "open", "", "日本", "100", "ümlaut", "Paid"]),
    "flag": pa.array([True, False, None, True, False, True, None, False, True]),
    "day": pa.array([dt.date(2024, 1, d) for d in range(1, 9)] + [None], pa.date32()),
    "at": pa.array([dt.datetime(2024, 1, 1)] * 9, pa.timestamp("us", "UTC")),
})


def run_filter(config):
    load("filter")
    kind, value = _runtime.run(_runtime.init, config)
    if kind != "ok":
        return kind, value
    kind, value = _runtime.run(_runtime.transform, to_stream(ORDERS))
    if kind != "ok":
        return kind, value
    out = from_stream(value)
    assert out.schema.equals(ORDERS.schema, check_metadata=True)
    return out.column("id").to_pylist()


@pytest.mark.parametrize("config,ids", [
    ('{"column":"amount","op":"gt","value":100}', [2, 5, 8]),   # NaN is above +inf
    ('{"column":"amount","op":"ge","value":100}', [2, 4, 5, 8]),
    ('{"column":"amount","op":"ne","value":100}', [1, 2, 5, 6, 7, 8, 9]),
    ('{"column":"amount","op":"eq","value":0}', [7]),            # -0.0 < 0.0
    ('{"column":"amount","op":"lt","value":0}', [6, 9]),
    ('{"column":"amount","op":"eq","value":"NaN"}', [5]),
    ('{"column":"amount","op":"le","value":"-inf"}', [9]),
    ('{"column":"amount","op":"is_null"}', [3]),
    ('{"column":"f32","op":"eq","value":0.1}', [1]),
    ('{"column":"f32","op":"gt","value":"1"}', [5, 8]),
    ('{"column":"status","op":"eq","value":"paid"}', [1, 3]),
    ('{"column":"status","op":"gt","value":"p"}', [1, 3, 6, 8]),
    ('{"column":"status","op":"eq","value":100}', [7]),
    ('{"column":"status","op":"is_not_null"}', [1, 3, 4, 5, 6, 7, 8, 9]),
    ('{"column":"id","op":"le","value":"2"}', [1, 2]),
    ('{"column":"id","op":"lt","value":2.5}', [1, 2]),
    ('{"column":"u8","op":"lt","value":300}', [1, 2, 3, 4, 6, 7, 8, 9]),
    ('{"column":"u8","op":"ge","value":-1}', [1, 2, 3, 4, 6, 7, 8, 9]),
    ('{"column":"flag","op":"eq","value":true}', [1, 4, 6, 9]),
    ('{"column":"flag","op":"lt","value":"true"}', [2, 5, 8]),
    ('{"column":"day","op":"ge","value":"2024-01-07"}', [7, 8]),
])
def test_filter(config, ids):
    assert run_filter(config) == ids


@pytest.mark.parametrize("config,kind", [
    ('{"column":"id","op":"like","value":1}', "invalid-config"),
    ('{"column":"id","op":"gt"}', "invalid-config"),
    ('{"column":"id","op":"is_null","value":1}', "invalid-config"),
    ('{"column":"id","op":"gt","value":[1]}', "invalid-config"),
    ('{"column":"id"}', "invalid-config"),
    ('{"column":"id","op":"gt","value":1,"extra":1}', "invalid-config"),
    ('{"column":"id","op":"gt","value":"lots"}', "invalid-config"),
    ('{"column":"day","op":"gt","value":"2024-02-30"}', "invalid-config"),
    ('{"column":"flag","op":"gt","value":2}', "invalid-config"),
    ('{"column":"at","op":"gt","value":1}', "invalid-config"),
    ('{"column":"nope","op":"gt","value":1}', "invalid-input"),
])
def test_filter_errors(config, kind):
    result = run_filter(config)
    assert isinstance(result, tuple) and result[0] == kind, result


def test_filter_describe():
    load("filter")
    name, version, description, schema = _runtime.describe()
    assert (name, version) == ("filter", "0.1.0")
    assert '"required": ["column", "op"]' in schema


PEOPLE = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "email": pa.array(["a@example.com", None, ""]),
    "name": pa.array(["Ann", "日本", None], pa.large_utf8()),
})


def run_mask(config, table=PEOPLE):
    load("mask")
    kind, value = _runtime.run(_runtime.init, config)
    if kind != "ok":
        return kind, value
    kind, value = _runtime.run(_runtime.transform, to_stream(table))
    if kind != "ok":
        return kind, value
    out = from_stream(value)
    assert out.schema.equals(table.schema, check_metadata=True)
    return out


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_mask_hash_with_salt():
    out = run_mask('{"columns": ["email", "name"], "salt": "s"}')
    assert out.column("email").to_pylist() == [sha("sa@example.com"), None, sha("s")]
    assert out.column("name").to_pylist() == [sha("sAnn"), sha("s日本"), None]
    assert out.column("id").to_pylist() == [1, 2, 3]


def test_mask_redact():
    out = run_mask('{"columns": ["email"], "method": "redact", "replacement": "X"}')
    assert out.column("email").to_pylist() == ["X", None, "X"]


@pytest.mark.parametrize("config,kind,needle", [
    ('{"columns": ["phone"]}', "invalid-input", "phone"),
    ('{"columns": ["id"]}', "invalid-input", "id"),
    ('{"columns": []}', "invalid-config", "columns"),
    ('{"columns": ["a"], "method": "rot13"}', "invalid-config", "rot13"),
    ('{"columns": ["a"], "pepper": "x"}', "invalid-config", "pepper"),
    ('{}', "invalid-config", "columns"),
])
def test_mask_errors(config, kind, needle):
    result = run_mask(config)
    assert isinstance(result, tuple) and result[0] == kind and needle in result[1], result
