"""Text -> column value, as the Rust filter's strict Arrow `cast` from Utf8 converts it.

The config's `value` reaches the filter as text (a JSON number in serde_json's spelling), and is
parsed per column type with the rules of arrow-cast's parsers, so every filter agrees on which
values convert and to what.
"""

import math
import re
import struct
from decimal import Decimal

_WS = " \t\n\r\x0c"  # ASCII whitespace, as Rust's trim_ascii
_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_SPECIAL = re.compile(r"([+-]?)(nan|infinity|inf)\Z", re.IGNORECASE)
_TRUE = {"t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"}
_FALSE = {"f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(?:([Zz])|\s*([+-])([0-9]{2}):?([0-9]{2}))?\Z")


def json_number_text(value):
    """The text serde_json writes for a JSON number: integers as is, floats like ryu."""
    if isinstance(value, int) and -(1 << 63) <= value < (1 << 64):
        return str(value)
    x = float(value)
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    length = len(digits)
    point = length + exponent  # 10^(point-1) <= |x| < 10^point
    if 0 <= exponent and point <= 16:
        text = digits + "0" * exponent + ".0"
    elif 0 < point <= 16:
        text = digits[:point] + "." + digits[point:]
    elif -5 < point <= 0:
        text = "0." + "0" * -point + digits
    elif length == 1:
        text = "%se%d" % (digits, point - 1)
    else:
        text = "%s.%se%d" % (digits[0], digits[1:], point - 1)
    return sign + text


def parse_int(text, lo, hi):
    """An integer in lo..hi, or None (Arrow: optional sign, ASCII digits, no spaces inside)."""
    text = text.strip(_WS)
    if not _INT.match(text):
        return None
    value = int(text)
    return value if lo <= value <= hi else None


def parse_float(text):
    """A float64, or None (Arrow/lexical: decimal or exponent form, nan, inf, infinity)."""
    text = text.strip(_WS)
    special = _SPECIAL.match(text)
    if special:
        value = math.nan if special.group(2).lower() == "nan" else math.inf
        return -value if special.group(1) == "-" else value
    if not _FLOAT.match(text):
        return None
    return float(text)


def round_to(value, bit_width):
    """`value` rounded to a float of `bit_width` bits; out of range -> +-inf."""
    if bit_width == 64 or math.isnan(value) or math.isinf(value):
        return value
    if bit_width == 16:
        value = round_to(value, 32)  # Arrow parses Float16 through f32
    code = "<f" if bit_width == 32 else "<e"
    try:
        return struct.unpack(code, struct.pack(code, value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def parse_bool(text):
    """True / False, or None (Arrow's spellings: true/false, t/f, yes/no, on/off, 1/0, ...)."""
    word = text.translate(_ASCII_LOWER).strip()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def parse_date_days(text):
    """Days since 1970-01-01 of a date, or None.

    Arrow's forms: YYYY-MM-DD (month and day may have one digit), YYYYMMDD, +/-YYYYY-MM-DD, and
    longer RFC 3339 date-times (taken in UTC)."""
    days = _date_days(text)
    if days is None:
        days = _date_days(text.strip(_WS))
    return days


def _date_days(s):
    if s[:1] in ("+", "-"):
        rest = s[1:]
        hyphen = rest.find("-")
        if hyphen < 4:
            return None
        year_text = s[:hyphen + 1]
        parts = s[hyphen + 2:].split("-", 1) if s[hyphen + 1:hyphen + 2] == "-" else []
        if len(parts) != 2 or not _all_digits(year_text[1:]):
            return None
        if not (_all_digits(parts[0].lstrip("+")) and _all_digits(parts[1].lstrip("+"))):
            return None
        return _civil_days(int(year_text), int(parts[0]), int(parts[1]))
    if len(s) > 10:
        return _datetime_days(s)
    if len(s) == 8 and _all_digits(s):
        return _civil_days(int(s[:4]), int(s[4:6]), int(s[6:]))
    m = re.match(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z", s)
    if not m:
        return None
    return _civil_days(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _all_digits(s):
    return bool(s) and s.isascii() and s.isdigit()


def _datetime_days(s):
    m = _DATETIME.match(s)
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    days = _civil_days(year, month, day)
    if days is None or hour > 23 or minute > 59 or second > 59:
        return None
    offset = 0
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * (-1 if m.group(9) == "-" else 1)
    utc_minutes = days * 1440 + hour * 60 + minute - offset
    return utc_minutes // 1440


def _civil_days(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date, or None if it does not exist."""
    if not 1 <= month <= 12 or day < 1:
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    length = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    if day > length:
        return None
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days if -(1 << 31) <= days < (1 << 31) else None

