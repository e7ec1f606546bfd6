"""Arrow buffers -> Python values, one column at a time (only for columns a transform reads)."""

import datetime
import struct
import zoneinfo  # imported here: inside the component, modules load only at build time
from decimal import Decimal
from itertools import islice

from . import _bits
from .errors import InvalidInput

EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
EPOCH = datetime.datetime(1970, 1, 1)
EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# Units per second of s, ms, us, ns.
UNITS_PER_SECOND = (1, 1000, 1000000, 1000000000)
_US_PER_DAY = 86400000000

INT_CODES = {(8, True): "b", (16, True): "h", (32, True): "i", (64, True): "q",
             (8, False): "B", (16, False): "H", (32, False): "I", (64, False): "Q"}
FLOAT_CODES = {32: "f", 64: "d"}


def storage(col):
    """The column's values as stored (ints, floats, bytes, 0/1), garbage at null slots."""
    t = col.type
    n = len(col)
    kind = t.id
    if kind == "null":
        return [None] * n
    if kind == "bool":
        return list(_bits.unpack(col.buffers[0], n))
    if kind in ("utf8", "large_utf8", "binary", "large_binary"):
        return binary_values(col)
    width = t.width
    data = memoryview(col.buffers[0])[: n * width]
    if kind == "float":
        if t.bit_width == 16:
            return list(struct.unpack("<%de" % n, data))
        return data.cast(FLOAT_CODES[t.bit_width]).tolist()
    if kind == "int":
        return data.cast(INT_CODES[t.bit_width, t.signed]).tolist()
    if kind in ("date32", "time32"):
        return data.cast("i").tolist()
    if kind in ("date64", "timestamp", "time64", "duration"):
        return data.cast("q").tolist()
    if kind in ("decimal", "fixed_size_binary"):
        blob = bytes(data)
        starts = range(0, n * width, width)
        if kind == "fixed_size_binary":
            return [blob[i:i + width] for i in starts]
        from_bytes = int.from_bytes
        return [from_bytes(blob[i:i + width], "little", signed=True) for i in starts]
    raise InvalidInput("column `%s`: type %s cannot be read" % (col.name, t))


def binary_values(col):
    """bytes of each value of a Utf8 / Binary column (b'' at null slots)."""
    n = len(col)
    offsets, data = col.buffers
    width = 8 if col.type.id in ("large_utf8", "large_binary") else 4
    offs = memoryview(offsets)[: (n + 1) * width].cast("q" if width == 8 else "i").tolist()
    blob = bytes(data)
    return list(map(blob.__getitem__, map(slice, offs, islice(offs, 1, None))))


def values(col):
    """Python values of a column, None for nulls."""
    t = col.type
    kind = t.id
    if kind == "null":
        return [None] * len(col)
    if kind in ("utf8", "large_utf8"):
        out = _strings(col)
    elif kind == "bool":
        out = list(map(bool, _bits.unpack(col.buffers[0], len(col))))
    else:
        out = storage(col)
        convert = _CONVERTERS.get(kind)
        if convert is not None:
            out = convert(col, out)
    return with_nulls(col, out)


def with_nulls(col, out):
    """`out` with None at the column's null slots."""
    nulls = col.null_count
    if nulls == 0:
        return out
    valid = _bits.unpack(col.validity, len(col))
    if nulls * 8 < len(out):
        find = valid.find
        i = find(0)
        while i != -1:
            out[i] = None
            i = find(0, i + 1)
        return out
    return [v if ok else None for v, ok in zip(out, valid)]


def _strings(col):
    n = len(col)
    offsets, data = col.buffers
    width = 8 if col.type.id == "large_utf8" else 4
    offs = memoryview(offsets)[: (n + 1) * width].cast("q" if width == 8 else "i").tolist()
    if n == 0:
        return []
    blob = bytes(memoryview(data)[offs[0]:offs[-1]])
    base = offs[0]
    if base:
        offs = [o - base for o in offs]
    if blob.isascii():
        text = blob.decode("ascii")
        return list(map(text.__getitem__, map(slice, offs, islice(offs, 1, None))))
    try:
        return [blob[a:b].decode("utf-8") for a, b in zip(offs, islice(offs, 1, None))]
    except UnicodeDecodeError as e:
        raise InvalidInput("column `%s` holds invalid UTF-8: %s" % (col.name, e)) from None


def _out_of_range(col, value, what):
    return InvalidInput(
        "column `%s` (%s): value %r is outside the range of %s; read it with "
        "column.to_list(raw=True)" % (col.name, col.type, value, what))


def _dates(col, days_list):
    fromordinal = datetime.date.fromordinal
    try:
        return [fromordinal(EPOCH_ORDINAL + d) for d in days_list]
    except (ValueError, OverflowError):
        bad = next(d for d in days_list if not 1 <= EPOCH_ORDINAL + d <= 3652059)
        raise _out_of_range(col, bad, "datetime.date (years 1-9999)") from None


def _date64(col, ms_list):
    return _dates(col, [ms // 86400000 for ms in ms_list])


def to_microseconds(col, raw):
    """Values in the column's unit -> microseconds; refuses sub-microsecond parts."""
    per_second = UNITS_PER_SECOND[col.type.unit]
    if per_second == 1000000:
        return raw
    if per_second < 1000000:
        factor = 1000000 // per_second
        return [v * factor for v in raw]
    for v in raw:
        if v % 1000:
            raise InvalidInput(
                "column `%s` (%s): value %d has nanoseconds, which Python's datetime types "
                "cannot hold; read it with column.to_list(raw=True)" % (col.name, col.type, v))
    return [v // 1000 for v in raw]


def _timestamps(col, raw):
    micros = to_microseconds(col, with_zero_nulls(col, raw))
    delta = datetime.timedelta
    tz = col.type.tz
    try:
        if tz is None:
            return [EPOCH + delta(microseconds=v) for v in micros]
        zone = time_zone(tz)
        out = [EPOCH_UTC + delta(microseconds=v) for v in micros]
        if zone is not datetime.timezone.utc:
            out = [v.astimezone(zone) for v in out]
        return out
    except OverflowError:
        bad = next(v for v in raw if not -62135596800000000 <= v <= 253402300799999999)
        raise _out_of_range(col, bad, "datetime.datetime (years 1-9999)") from None


def _times(col, raw):
    micros = to_microseconds(col, with_zero_nulls(col, raw))
    out = []
    time = datetime.time
    for us in micros:
        if not 0 <= us < _US_PER_DAY:
            raise _out_of_range(col, us, "datetime.time (one day)")
        seconds, us = divmod(us, 1000000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        out.append(time(hour, minute, second, us))
    return out


def _durations(col, raw):
    micros = to_microseconds(col, with_zero_nulls(col, raw))
    delta = datetime.timedelta
    try:
        return [delta(microseconds=v) for v in micros]
    except OverflowError:
        raise _out_of_range(col, max(raw, key=abs), "datetime.timedelta") from None


def _decimals(col, raw):
    exponent = -col.type.scale
    return [Decimal("%dE%d" % (v, exponent)) for v in raw]


def with_zero_nulls(col, raw):
    """`raw` with 0 at null slots (garbage there must not fail a conversion)."""
    if col.null_count == 0:
        return raw
    valid = _bits.unpack(col.validity, len(col))
    return [v if ok else 0 for v, ok in zip(raw, valid)]


_CONVERTERS = {
    "date32": lambda col, raw: _dates(col, with_zero_nulls(col, raw)),
    "date64": lambda col, raw: _date64(col, with_zero_nulls(col, raw)),
    "timestamp": _timestamps,
    "time32": _times,
    "time64": _times,
    "duration": _durations,
    "decimal": _decimals,
}

_ZONES = {}


def time_zone(name):
    """A tzinfo for an Arrow time zone: `UTC`, `+05:30`, or an IANA name.

    IANA names need time-zone data, which the sandbox does not have: there (and wherever the
    zone is unknown) the values come back in UTC, which are the same instants."""
    zone = _ZONES.get(name)
    if zone is not None:
        return zone
    if name.upper() in ("UTC", "Z", "+00:00", "ETC/UTC", "GMT"):
        zone = datetime.timezone.utc
    elif name[:1] in "+-" and len(name) in (3, 5, 6):
        digits = name[1:].replace(":", "")
        if not digits.isdigit():
            raise InvalidInput("unknown time zone %r" % name)
        minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
        zone = datetime.timezone(datetime.timedelta(minutes=-minutes if name[0] == "-" else minutes))
    else:
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            zone = datetime.timezone.utc
    _ZONES[name] = zone
    return zone
