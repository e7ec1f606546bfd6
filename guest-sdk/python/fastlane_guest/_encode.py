"""Python values -> Arrow buffers, for columns a transform builds or replaces."""

import datetime
import struct
from array import array
from decimal import Decimal, InvalidOperation
from itertools import accumulate, repeat
from operator import is_not

from . import _bits
from . import types as T
from ._decode import EPOCH, EPOCH_ORDINAL, EPOCH_UTC, FLOAT_CODES, INT_CODES, UNITS_PER_SECOND


class EncodeError(ValueError):
    """A value does not fit the column's type."""


def encode(values, dtype, name):
    """(validity bitmap or None, null count, buffers) of a list of Python values."""
    n = len(values)
    kind = dtype.id
    if kind == "null":
        if values.count(None) != n:
            raise EncodeError("column `%s` is of type Null but holds values" % name)
        return None, n, ()
    nulls = values.count(None)
    validity = None
    if nulls:
        valid = bytes(map(is_not, values, repeat(None)))
        validity = _bits.pack(valid)
        fill = bytes(dtype.byte_width) if kind == "fixed_size_binary" else _FILL.get(kind, 0)
        values = _fill(values, valid, nulls, fill)
    try:
        buffers = _ENCODERS[kind](values, dtype)
    except EncodeError as e:
        raise EncodeError("column `%s` (%s): %s" % (name, dtype, e)) from None
    except (TypeError, ValueError, OverflowError, AttributeError) as e:
        bad = _first_bad(values, dtype)
        detail = "value %r does not fit" % (bad,) if bad is not _NOTHING else str(e)
        raise EncodeError("column `%s` (%s): %s" % (name, dtype, detail)) from None
    return validity, nulls, buffers


_FILL = {"utf8": "", "large_utf8": "", "binary": b"", "large_binary": b"", "float": 0.0,
         "bool": False}
_NOTHING = object()


def _fill(values, valid, nulls, fill):
    if nulls * 8 < len(values):
        values = list(values)
        find = valid.find
        i = find(0)
        while i != -1:
            values[i] = fill
            i = find(0, i + 1)
        return values
    return [fill if v is None else v for v in values]


def _first_bad(values, dtype):
    """The first value that does not encode alone, for the error message."""
    for v in values:
        try:
            _ENCODERS[dtype.id]([v], dtype)
        except Exception:
            return v
    return _NOTHING


def _ints(values, t):
    # array() refuses floats and values outside the type's range.
    return (array(INT_CODES[t.bit_width, t.signed], values).tobytes(),)


def _floats(values, t):
    if t.bit_width == 16:
        return (struct.pack("<%de" % len(values), *values),)
    return (array(FLOAT_CODES[t.bit_width], values).tobytes(),)


def _bools(values, t):
    rows = bytes(values)
    if rows.translate(None, b"\x00\x01"):
        raise EncodeError("values must be bool")
    return (_bits.pack(rows),)


def _offsets(lengths, large):
    code = "q" if large else "i"
    try:
        return array(code, accumulate(lengths, initial=0)).tobytes()
    except OverflowError:
        raise EncodeError("more than 2 GiB of data; use the large type") from None


def _strings(values, t):
    encoded = list(map(str.encode, values))
    return _offsets(map(len, encoded), t.id == "large_utf8"), b"".join(encoded)


def _binaries(values, t):
    for v in values:
        if not isinstance(v, (bytes, bytearray)):
            raise EncodeError("value %r is not bytes" % (v,))
    return _offsets(map(len, values), t.id == "large_binary"), b"".join(values)


def _fixed_binaries(values, t):
    w = t.byte_width
    for v in values:
        if not isinstance(v, (bytes, bytearray)) or len(v) != w:
            raise EncodeError("value %r is not %d bytes" % (v, w))
    return (b"".join(values),)


def _days(v):
    if type(v) is int:
        return v
    if isinstance(v, datetime.date):
        return v.toordinal() - EPOCH_ORDINAL
    raise EncodeError("value %r is not a date" % (v,))


def _date32(values, t):
    return (array("i", map(_days, values)).tobytes(),)


def _date64(values, t):
    return (array("q", [v if type(v) is int else _days(v) * 86400000 for v in values]).tobytes(),)


def _micros_to_unit(us, unit, v):
    per_second = UNITS_PER_SECOND[unit]
    if per_second >= 1000000:
        return us * (per_second // 1000000)
    factor = 1000000 // per_second
    if us % factor:
        raise EncodeError("value %r has a finer precision than %s" % (v, T._UNITS[unit]))
    return us // factor


def _timedelta_micros(d):
    return (d.days * 86400 + d.seconds) * 1000000 + d.microseconds


def _timestamp_value(v, unit):
    if type(v) is int:
        return v
    if not isinstance(v, datetime.datetime):
        raise EncodeError("value %r is not a datetime" % (v,))
    delta = v - (EPOCH if v.tzinfo is None else EPOCH_UTC)
    return _micros_to_unit(_timedelta_micros(delta), unit, v)


def _timestamps(values, t):
    unit = t.unit
    return (array("q", [_timestamp_value(v, unit) for v in values]).tobytes(),)


def _time_value(v, unit):
    if type(v) is int:
        return v
    if not isinstance(v, datetime.time):
        raise EncodeError("value %r is not a time" % (v,))
    us = ((v.hour * 60 + v.minute) * 60 + v.second) * 1000000 + v.microsecond
    return _micros_to_unit(us, unit, v)


def _times(values, t):
    code = "i" if t.id == "time32" else "q"
    unit = t.unit
    return (array(code, [_time_value(v, unit) for v in values]).tobytes(),)


def _duration_value(v, unit):
    if type(v) is int:
        return v
    if not isinstance(v, datetime.timedelta):
        raise EncodeError("value %r is not a timedelta" % (v,))
    return _micros_to_unit(_timedelta_micros(v), unit, v)


def _durations(values, t):
    unit = t.unit
    return (array("q", [_duration_value(v, unit) for v in values]).tobytes(),)


def unscaled(v, t):
    """The integer stored for a decimal value at the type's scale (exact, or EncodeError)."""
    if type(v) is int:
        d = Decimal(v)
    elif isinstance(v, Decimal):
        d = v
    elif isinstance(v, str):
        try:
            d = Decimal(v)
        except InvalidOperation:
            raise EncodeError("value %r is not a decimal" % (v,)) from None
    else:
        raise EncodeError("value %r is not a Decimal, int or str" % (v,))
    if not d.is_finite():
        raise EncodeError("value %r is not finite" % (v,))
    sign, digits, exponent = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = exponent + t.scale
    if shift >= 0:
        n *= 10 ** shift
    else:
        n, rest = divmod(n, 10 ** -shift)
        if rest:
            raise EncodeError("value %r has more than %d decimal places" % (v, t.scale))
    if n >= 10 ** t.precision:
        raise EncodeError("value %r has more than %d digits" % (v, t.precision))
    return -n if sign else n


def _decimals(values, t):
    width = t.bit_width // 8
    return (b"".join([unscaled(v, t).to_bytes(width, "little", signed=True) for v in values]),)


_ENCODERS = {
    "int": _ints, "float": _floats, "bool": _bools,
    "utf8": _strings, "large_utf8": _strings, "binary": _binaries, "large_binary": _binaries,
    "fixed_size_binary": _fixed_binaries, "date32": _date32, "date64": _date64,
    "timestamp": _timestamps, "time32": _times, "time64": _times, "duration": _durations,
    "decimal": _decimals,
}


def infer_type(values, name):
    """The DataType for a list of Python values (None ignored)."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return T.null()
    if kinds == {bool}:
        return T.bool_()
    if kinds == {int}:
        return T.int64()
    if kinds <= {int, float}:
        return T.float64()
    if kinds == {str}:
        return T.utf8()
    if kinds <= {bytes, bytearray}:
        return T.binary()
    if kinds <= {Decimal, int}:
        scale = 0
        for v in values:
            if isinstance(v, Decimal) and v.is_finite():
                scale = max(scale, -v.as_tuple().exponent)
        return T.decimal128(38, scale)
    if len(kinds) == 1:
        kind = kinds.pop()
        if issubclass(kind, datetime.datetime):
            zones = {v.tzinfo for v in values if v is not None}
            if zones == {None}:
                return T.timestamp("us")
            if None in zones:
                raise EncodeError("column `%s` mixes naive and aware datetimes" % name)
            return T.timestamp("us", zone_name(next(iter(zones)), values))
        if issubclass(kind, datetime.date):
            return T.date32()
        if issubclass(kind, datetime.time):
            return T.time64("us")
        if issubclass(kind, datetime.timedelta):
            return T.duration("us")
    names = ", ".join(sorted(k.__name__ for k in kinds))
    raise EncodeError("cannot infer an Arrow type for column `%s` from values of type %s; "
                      "pass type=" % (name, names))


def zone_name(tzinfo, values):
    """The Arrow time-zone string of a tzinfo (IANA key, `UTC` or `+HH:MM`)."""
    key = getattr(tzinfo, "key", None)
    if key:
        return key
    if tzinfo is datetime.timezone.utc:
        return "UTC"
    sample = next(v for v in values if v is not None)
    offset = tzinfo.utcoffset(sample)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return "%s%02d:%02d" % (sign, abs(minutes) // 60, abs(minutes) % 60)
