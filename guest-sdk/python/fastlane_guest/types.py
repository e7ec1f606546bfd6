"""Arrow data types the SDK reads and writes, and their constructors.

`types.int64()`, `types.timestamp("us", "UTC")`, `types.decimal128(12, 2)`, ... build a
`DataType`; a short name (`"int64"`, `"utf8"`, `"string"`, `"bool"`, ...) works wherever a type
is expected.
"""

_UNITS = ("s", "ms", "us", "ns")
_UNIT_NAMES = ("Second", "Millisecond", "Microsecond", "Nanosecond")
_UNIT_ALIASES = {
    "s": 0, "second": 0, "ms": 1, "millisecond": 1,
    "us": 2, "microsecond": 2, "ns": 3, "nanosecond": 3,
}


class DataType:
    """An Arrow data type. Compare with `==`; `str()` gives the Arrow name (`Int64`, ...)."""

    __slots__ = ("id", "bit_width", "signed", "unit", "tz", "precision", "scale", "byte_width")

    def __init__(self, id, bit_width=0, signed=False, unit=None, tz=None, precision=0, scale=0,
                 byte_width=0):
        self.id = id
        self.bit_width = bit_width
        self.signed = signed
        self.unit = unit
        self.tz = tz
        self.precision = precision
        self.scale = scale
        self.byte_width = byte_width

    def _key(self):
        return (self.id, self.bit_width, self.signed, self.unit, self.tz, self.precision,
                self.scale, self.byte_width)

    def __eq__(self, other):
        if isinstance(other, str):
            other = data_type(other)
        return isinstance(other, DataType) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "DataType(%s)" % self

    def __str__(self):
        i = self.id
        if i == "int":
            return "%sInt%d" % ("" if self.signed else "U", self.bit_width)
        if i == "float":
            return "Float%d" % self.bit_width
        if i == "timestamp":
            unit = _UNIT_NAMES[self.unit]
            return "Timestamp(%s)" % unit if self.tz is None else 'Timestamp(%s, "%s")' % (
                unit, self.tz)
        if i in ("time32", "time64", "duration"):
            return "%s(%s)" % (i.capitalize(), _UNIT_NAMES[self.unit])
        if i == "decimal":
            return "Decimal%d(%d, %d)" % (self.bit_width, self.precision, self.scale)
        if i == "fixed_size_binary":
            return "FixedSizeBinary(%d)" % self.byte_width
        return _SIMPLE_NAMES[i]

    @property
    def is_integer(self):
        """Int8 ... Int64, UInt8 ... UInt64."""
        return self.id == "int"

    @property
    def is_float(self):
        """Float16, Float32, Float64."""
        return self.id == "float"

    @property
    def is_string(self):
        """Utf8 or LargeUtf8."""
        return self.id in ("utf8", "large_utf8")

    @property
    def is_binary(self):
        """Binary, LargeBinary or FixedSizeBinary."""
        return self.id in ("binary", "large_binary", "fixed_size_binary")

    @property
    def is_temporal(self):
        """Date32/64, Timestamp, Time32/64, Duration."""
        return self.id in ("date32", "date64", "timestamp", "time32", "time64", "duration")

    @property
    def width(self):
        """Bytes per value of a fixed-width type; 0 for variable-width, Boolean and Null."""
        return _fixed_width(self)

    @property
    def unit_name(self):
        """`s`, `ms`, `us` or `ns` for temporal types with a unit, else None."""
        return None if self.unit is None else _UNITS[self.unit]

    @property
    def int_range(self):
        """(min, max) of an integer type."""
        bits = self.bit_width
        if self.signed:
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return 0, (1 << bits) - 1


_SIMPLE_NAMES = {
    "null": "Null", "bool": "Boolean", "utf8": "Utf8", "large_utf8": "LargeUtf8",
    "binary": "Binary", "large_binary": "LargeBinary", "date32": "Date32", "date64": "Date64",
}


def _fixed_width(t):
    i = t.id
    if i in ("int", "float", "decimal"):
        return t.bit_width // 8
    if i in ("date32", "time32"):
        return 4
    if i in ("date64", "timestamp", "time64", "duration"):
        return 8
    if i == "fixed_size_binary":
        return t.byte_width
    return 0


def _unit(unit):
    if isinstance(unit, int) and 0 <= unit <= 3:
        return unit
    try:
        return _UNIT_ALIASES[str(unit).lower()]
    except KeyError:
        raise ValueError("unknown time unit %r (use s, ms, us or ns)" % (unit,)) from None


def null():
    return DataType("null")


def bool_():
    return DataType("bool")


def int8():
    return DataType("int", 8, True)


def int16():
    return DataType("int", 16, True)


def int32():
    return DataType("int", 32, True)


def int64():
    return DataType("int", 64, True)


def uint8():
    return DataType("int", 8, False)


def uint16():
    return DataType("int", 16, False)


def uint32():
    return DataType("int", 32, False)


def uint64():
    return DataType("int", 64, False)


def float16():
    return DataType("float", 16)


def float32():
    return DataType("float", 32)


def float64():
    return DataType("float", 64)


def utf8():
    return DataType("utf8")


def large_utf8():
    return DataType("large_utf8")


def binary():
    return DataType("binary")


def large_binary():
    return DataType("large_binary")


def fixed_size_binary(byte_width):
    return DataType("fixed_size_binary", byte_width=int(byte_width))


def date32():
    return DataType("date32")


def date64():
    return DataType("date64")


def timestamp(unit="us", tz=None):
    """Timestamp with a unit (`s`, `ms`, `us`, `ns`) and an optional time zone name or offset."""
    return DataType("timestamp", unit=_unit(unit), tz=tz)


def time32(unit="ms"):
    u = _unit(unit)
    if u > 1:
        raise ValueError("time32 takes unit s or ms")
    return DataType("time32", unit=u)


def time64(unit="us"):
    u = _unit(unit)
    if u < 2:
        raise ValueError("time64 takes unit us or ns")
    return DataType("time64", unit=u)


def duration(unit="us"):
    return DataType("duration", unit=_unit(unit))


def decimal(precision, scale=0, bit_width=128):
    """Decimal of `bit_width` 32, 64, 128 or 256 bits."""
    if bit_width not in (32, 64, 128, 256):
        raise ValueError("decimal bit width must be 32, 64, 128 or 256")
    max_precision = {32: 9, 64: 18, 128: 38, 256: 76}[bit_width]
    if not 1 <= precision <= max_precision:
        raise ValueError("decimal%d precision must be 1..%d" % (bit_width, max_precision))
    return DataType("decimal", bit_width, precision=int(precision), scale=int(scale))


def decimal128(precision, scale=0):
    return decimal(precision, scale, 128)


def decimal256(precision, scale=0):
    return decimal(precision, scale, 256)


# Aliases as in pyarrow.
string = utf8
large_string = large_utf8
boolean = bool_

_BY_NAME = {
    "null": null, "bool": bool_, "boolean": bool_,
    "int8": int8, "int16": int16, "int32": int32, "int64": int64,
    "uint8": uint8, "uint16": uint16, "uint32": uint32, "uint64": uint64,
    "float16": float16, "float32": float32, "float64": float64,
    "halffloat": float16, "float": float32, "double": float64,
    "utf8": utf8, "string": utf8, "str": utf8, "large_utf8": large_utf8,
    "large_string": large_utf8, "binary": binary, "bytes": binary,
    "large_binary": large_binary, "date32": date32, "date": date32, "date64": date64,
}


def data_type(t):
    """A `DataType` from a `DataType` or a short name such as `"int64"` or `"utf8"`."""
    if isinstance(t, DataType):
        return t
    if isinstance(t, str):
        ctor = _BY_NAME.get(t.strip().lower())
        if ctor is not None:
            return ctor()
        raise ValueError("unknown type name %r; use a fastlane_guest.types constructor" % t)
    raise TypeError("expected a DataType or a type name, got %r" % (t,))
