"""`Column`: one Arrow array that reads like a Python list.

A column read from the input keeps the raw Arrow buffers and turns them into Python values only
when first read (`col[i]`, iteration, `to_list()`); filtering, selecting and writing it never
do. A column built from Python values is encoded into Arrow buffers at once, so a value that does
not fit the type fails where it was given.
"""

import math
import operator
import struct
from array import array
from decimal import Context, Decimal
from fractions import Fraction
from itertools import repeat

from . import _bits, _decode
from . import _encode
from ._encode import EncodeError, encode, infer_type
from .types import data_type

_OPS = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge,
    "lt": operator.lt, "le": operator.le, "==": operator.eq, "!=": operator.ne,
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}
_SIGN_MASK = (1 << 63) - 1
_VARIABLE = ("utf8", "large_utf8", "binary", "large_binary")
_LARGE = ("large_utf8", "large_binary")


class Column:
    """An Arrow array: `len(col)`, `col[i]`, iteration and `to_list()` give Python values.

    `Column(values, type=None)` builds one from a list (None = null); without `type` the type
    is inferred (bool -> Boolean, int -> Int64, float -> Float64, str -> Utf8, bytes -> Binary,
    date -> Date32, datetime -> Timestamp(us[, tz]), time -> Time64(us), Decimal -> Decimal128).
    """

    __slots__ = ("type", "name", "_len", "_nulls", "_validity", "_buffers", "_values")

    def __init__(self, values, type=None, name=None):
        values = values if isinstance(values, list) else list(values)
        self.name = name
        self.type = data_type(type) if type is not None else infer_type(values, name)
        self._len = len(values)
        self._validity, self._nulls, self._buffers = encode(values, self.type, name)
        self._values = values

    @classmethod
    def from_buffers(cls, type, length, null_count, validity, buffers, name=None):
        """A column over raw Arrow buffers (validity bitmap or None, then the type's buffers)."""
        col = cls.__new__(cls)
        col.type = data_type(type)
        col.name = name
        col._len = length
        col._nulls = length if col.type.id == "null" else null_count
        col._validity = validity if null_count and col.type.id != "null" else None
        col._buffers = tuple(buffers)
        col._values = None
        return col

    def _renamed(self, name):
        if name == self.name:
            return self
        col = Column.from_buffers(self.type, self._len, self._nulls, self._validity,
                                  self._buffers, name)
        col._values = self._values
        return col

    # -- the list-like part ---------------------------------------------------------------------

    def __len__(self):
        return self._len

    @property
    def null_count(self):
        """Number of nulls."""
        return self._nulls

    @property
    def validity(self):
        """The validity bitmap (LSB first), or None when there is no null."""
        return self._validity

    @property
    def buffers(self):
        """The Arrow buffers after the validity bitmap (data; or offsets and data)."""
        return self._buffers

    def _decoded(self):
        if self._values is None:
            self._values = _decode.values(self)
        return self._values

    def to_list(self, raw=False):
        """The values as a new Python list, None for nulls.

        `raw=True` gives what Arrow stores instead: integers for dates (days), timestamps,
        times and durations (in the type's unit) and decimals (unscaled); bytes for strings.
        """
        if raw:
            return _decode.with_nulls(self, _decode.storage(self))
        return list(self._decoded())

    def __iter__(self):
        return iter(self._decoded())

    def __getitem__(self, index):
        return self._decoded()[index]

    def __eq__(self, other):
        if isinstance(other, Column):
            return self.type == other.type and self._decoded() == other._decoded()
        if isinstance(other, (list, tuple)):
            return self._decoded() == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        values = self._decoded()
        shown = ", ".join(repr(v) for v in values[:10]) + (", ..." if self._len > 10 else "")
        return "Column(%s%s, %d rows: [%s])" % (
            "%r, " % self.name if self.name else "", self.type, self._len, shown)

    # -- vectorised helpers ---------------------------------------------------------------------

    def is_valid(self):
        """[bool]: True where the value is not null."""
        if self._nulls == 0:
            return [True] * self._len
        if self.type.id == "null":
            return [False] * self._len
        return list(map(bool, _bits.unpack(self._validity, self._len)))

    def is_null(self):
        """[bool]: True where the value is null."""
        if self._nulls == 0:
            return [False] * self._len
        if self.type.id == "null":
            return [True] * self._len
        return list(map(bool, _bits.flip(_bits.unpack(self._validity, self._len))))

    def compare(self, op, value):
        """[bool]: each value compared with `value` by `op`; False where the value is null.

        `op` is `eq ne gt ge lt le` (or `== != > >= < <=`). `value` is a Python value of the
        column's kind (int/float for numbers, str, bytes, bool, date, datetime, time,
        timedelta, Decimal; an int is taken as the raw stored value for temporal types).
        Floats compare in IEEE total order as Arrow's kernels do: -0.0 < 0.0, NaN equals NaN
        and sorts above +inf. Strings compare by code point; booleans False < True.
        """
        fn = _OPS.get(op)
        if fn is None:
            raise ValueError("unknown comparison %r (use %s)" % (op, ", ".join(sorted(_OPS))))
        n = self._len
        if value is None or self.type.id == "null" or n == 0:
            return [False] * n
        kind = self.type.id
        if kind == "float":
            out = _compare_floats(self, fn, value)
        else:
            out = list(map(fn, self._comparable(), repeat(self._comparand(value))))
        if self._nulls:
            out = list(map(bool, _bits.both(bytes(out), _bits.unpack(self._validity, n))))
        return out

    def _comparable(self):
        """Values to compare, as stored (no per-value Python object beyond ints/bytes)."""
        if self.type.id in _VARIABLE:
            return _decode.binary_values(self)
        return _decode.storage(self)

    def _comparand(self, value):
        t = self.type
        kind = t.id
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
                raise TypeError("cannot compare column `%s` (%s) with %r" % (self.name, t, value))
            return value
        if kind in ("utf8", "large_utf8"):
            if not isinstance(value, str):
                raise TypeError("cannot compare column `%s` (%s) with %r" % (self.name, t, value))
            return value.encode("utf-8")
        if kind in ("binary", "large_binary", "fixed_size_binary"):
            return bytes(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError("cannot compare column `%s` (%s) with %r" % (self.name, t, value))
            return int(value)
        if kind == "decimal":
            if isinstance(value, float):
                value = Decimal(value)
            return Decimal(value).scaleb(t.scale, context=Context(prec=400))
        if kind in ("date32", "date64", "timestamp", "time32", "time64", "duration"):
            return _temporal_comparand(self, value)
        raise TypeError("cannot compare column `%s` of type %s" % (self.name, t))

    def cast(self, type):
        """A copy converted to `type`: numbers to numbers (exact for ints), anything to strings."""
        target = data_type(type)
        if target == self.type:
            return self
        if target.is_float and self.type.id in ("int", "float") and self._nulls == 0:
            values = _decode.storage(self)
            return Column(array("d", values).tolist() if target.bit_width == 64 else values,
                          target, self.name)
        if target.is_float:
            convert = float
        elif target.is_integer:
            convert = _to_int
        elif target.is_string:
            convert = str
        else:
            raise TypeError("cannot cast column `%s` from %s to %s" % (self.name, self.type, target))
        values = [None if v is None else convert(v) for v in self._decoded()]
        return Column(values, target, self.name)

    # -- used by Table --------------------------------------------------------------------------

    def _filter(self, selection):
        """The rows a `Selection` keeps, cut from the raw buffers."""
        if selection.kept == self._len:
            return self
        t = self.type
        kind = t.id
        nulls, validity = 0, None
        if kind == "null":
            buffers = ()
            nulls = selection.kept
        else:
            if self._nulls:
                rows = selection.rows(_bits.unpack(self._validity, self._len))
                nulls = selection.kept - rows.count(1)
                validity = _bits.pack(rows) if nulls else None
            if kind == "bool":
                buffers = (selection.bitmap(self._buffers[0]),)
            elif kind in _VARIABLE:
                width = 8 if kind in _LARGE else 4
                buffers = selection.variable(self._buffers[0], self._buffers[1], width)
            else:
                buffers = (selection.fixed(self._buffers[0], t.width),)
        col = Column.from_buffers(t, selection.kept, nulls, validity, buffers, self.name)
        if self._values is not None:
            col._values = selection.values(self._values)
        return col


def _to_int(v):
    if isinstance(v, float) and not v.is_integer():
        raise ValueError("%r is not an integer" % v)
    return int(v)


def _float_bits(col):
    """Raw IEEE bits (as signed int64) of a float column's values, widened to float64."""
    t = col.type
    data = memoryview(col.buffers[0])[: len(col) * t.width]
    if t.bit_width == 64:
        return data.cast("q").tolist()
    return memoryview(array("d", _decode.storage(col)).tobytes()).cast("q").tolist()


def _total_key(x):
    """Integer that sorts float64 values in IEEE 754 total order."""
    bits = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits ^ _SIGN_MASK if bits < 0 else bits


def _round_float(x, bit_width):
    """`x` rounded to a float of `bit_width` bits (overflow -> +-inf)."""
    if bit_width == 64 or math.isnan(x) or math.isinf(x):
        return x
    code = "<f" if bit_width == 32 else "<e"
    try:
        return struct.unpack(code, struct.pack(code, x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _compare_floats(col, fn, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("cannot compare column `%s` (%s) with %r" % (col.name, col.type, value))
    c = _round_float(float(value), col.type.bit_width)
    if c == c and c != 0.0:
        # IEEE comparisons agree with the total order except on NaN (and on zeros, which only
        # matter when the comparand is a zero): take the fast path when no value is NaN.
        values = _decode.storage(col)
        total = sum(values)
        if total == total:
            return list(map(fn, values, repeat(c)))
    keys = [b ^ _SIGN_MASK if b < 0 else b for b in _float_bits(col)]
    return list(map(fn, keys, repeat(_total_key(c))))


def _temporal_comparand(col, value):
    t = col.type
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    kind = t.id
    try:
        if kind in ("date32", "date64"):
            days = _encode._days(value)
            return days if kind == "date32" else days * 86400000
        if kind == "timestamp":
            return _exact_units(value, lambda v, u: _encode._timestamp_value(v, u), t.unit)
        if kind == "duration":
            return _exact_units(value, lambda v, u: _encode._duration_value(v, u), t.unit)
        return _exact_units(value, lambda v, u: _encode._time_value(v, u), t.unit)
    except EncodeError as e:
        raise TypeError("cannot compare column `%s` (%s): %s" % (col.name, t, e)) from None


def _exact_units(value, to_units, unit):
    """The value in `unit`, as a Fraction when it falls between two units."""
    micros = to_units(value, 2)
    exact = Fraction(micros * _decode.UNITS_PER_SECOND[unit], 1000000)
    return exact.numerator if exact.denominator == 1 else exact

