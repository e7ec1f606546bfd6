//! Values written as text (CSV fields, JSON number literals) read as a type only when the type
//! holds them exactly: inference never changes a value.
//!
//! - integers must be written canonically (`-?(0|[1-9][0-9]*)`): `00042` (a code, not a number),
//!   `+5` and `-0` stay text, since reading them as numbers would lose how they are written;
//!   beyond `i64` they are `UInt64` when no value is negative;
//! - decimals must come back from the `f64` they parse to (`1.50` and `1.5` are the same number;
//!   `12345678901234567.5` is not what `f64` holds, so it stays text), with no superfluous leading
//!   zero (`007.5`);
//! - dates are `YYYY-MM-DD`; timestamps `YYYY-MM-DD[T ]HH:MM:SS[.f…]`, with a `Z` or UTC offset
//!   on every value or on none (a column with offsets is an instant in UTC);
//! - booleans are `true`/`false` in any case.

use arrow::datatypes::{DataType, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// The type a text value can be read as, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Boolean,
    /// A canonical integer that fits `i64` (`in_f64`: and an `f64` holds it exactly).
    Int {
        negative: bool,
        in_f64: bool,
    },
    /// A canonical integer above `i64::MAX` that fits `u64`.
    BigUnsigned {
        in_f64: bool,
    },
    /// A decimal (or integer) literal that `f64` holds exactly as written.
    Float,
    Date,
    /// A timestamp with `digits` fraction digits, with a zone (`Z`/offset) or without.
    Timestamp {
        digits: u8,
        zoned: bool,
    },
    /// Anything else: only text holds it.
    Text,
}

/// What one value can be read as.
pub(crate) fn classify(text: &str) -> Kind {
    if boolean(text).is_some() {
        return Kind::Boolean;
    }
    if let Some(v) = int64(text) {
        return Kind::Int {
            negative: v < 0,
            in_f64: float64(text).is_some(),
        };
    }
    if uint64(text).is_some() {
        return Kind::BigUnsigned {
            in_f64: float64(text).is_some(),
        };
    }
    if float64(text).is_some() {
        return Kind::Float;
    }
    if date32(text).is_some() {
        return Kind::Date;
    }
    if let Some(ts) = timestamp(text) {
        return Kind::Timestamp {
            digits: ts.digits,
            zoned: ts.zoned,
        };
    }
    Kind::Text
}

/// The narrowest type holding every value of a column exactly, from the kinds of its values
/// (`None`: no value seen, the column's type is still open).
pub(crate) fn column_type(kinds: impl IntoIterator<Item = Kind>) -> Option<DataType> {
    let (mut seen, mut boolean, mut negative, mut big, mut float, mut date) =
        (false, false, false, false, false, false);
    let (mut int, mut text, mut beyond_f64) = (false, false, false);
    let (mut ts_digits, mut naive, mut zoned) = (None::<u8>, false, false);
    for kind in kinds {
        seen = true;
        match kind {
            Kind::Boolean => boolean = true,
            Kind::Int {
                negative: n,
                in_f64,
            } => {
                int = true;
                negative |= n;
                beyond_f64 |= !in_f64;
            }
            Kind::BigUnsigned { in_f64 } => {
                big = true;
                beyond_f64 |= !in_f64;
            }
            Kind::Float => float = true,
            Kind::Date => date = true,
            Kind::Timestamp { digits, zoned: z } => {
                ts_digits = Some(ts_digits.unwrap_or(0).max(digits));
                if z {
                    zoned = true;
                } else {
                    naive = true;
                }
            }
            Kind::Text => text = true,
        }
    }
    if !seen {
        return None;
    }
    let numeric = int || big || float;
    let temporal = date || ts_digits.is_some();
    let families = [boolean, numeric, temporal].iter().filter(|f| **f).count();
    if text || families > 1 {
        return Some(DataType::Utf8);
    }
    Some(if boolean {
        DataType::Boolean
    } else if numeric {
        match (float, big, negative) {
            // Every integer of a float column must also be exact as an f64.
            (true, _, _) if beyond_f64 => DataType::Utf8,
            (true, _, _) => DataType::Float64,
            (false, true, true) => DataType::Utf8,
            (false, true, false) => DataType::UInt64,
            (false, false, _) => DataType::Int64,
        }
    } else {
        match ts_digits {
            None => DataType::Date32,
            // A date in a naive timestamp column is its midnight; offsets on some values only
            // leave no single meaning: text.
            Some(_) if naive && zoned => DataType::Utf8,
            Some(_) if zoned && date => DataType::Utf8,
            Some(digits) => DataType::Timestamp(unit_for(digits), zoned.then(|| "UTC".into())),
        }
    })
}

/// The coarsest unit holding `digits` fraction digits.
fn unit_for(digits: u8) -> TimeUnit {
    match digits {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// Fraction digits a unit holds.
pub(crate) fn unit_digits(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

pub(crate) use crate::text::boolean;

/// Whether `text` is a canonical integer literal: `-?(0|[1-9][0-9]*)`, and not `-0`.
fn canonical_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical && text != "-0"
}

/// A canonical integer that fits `i64`.
pub(crate) fn int64(text: &str) -> Option<i64> {
    canonical_integer(text).then(|| text.parse().ok()).flatten()
}

/// A canonical non-negative integer that fits `u64`.
pub(crate) fn uint64(text: &str) -> Option<u64> {
    (canonical_integer(text) && !text.starts_with('-'))
        .then(|| text.parse().ok())
        .flatten()
}

/// A number literal read as the `f64` that holds it exactly (see the module doc), or one of
/// `NaN`, `nan`, `inf`, `-inf`.
pub(crate) fn float64(text: &str) -> Option<f64> {
    match text {
        "NaN" | "nan" => return Some(f64::NAN),
        "inf" => return Some(f64::INFINITY),
        "-inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let literal = Decimal::parse(text)?;
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    // Any decimal of at most 15 significant digits comes back from the nearest f64 (DBL_DIG),
    // away from the ends of the range: no need to format it back.
    if literal.len <= 15 && (-290..=290).contains(&literal.point) {
        return Some(value);
    }
    let mut buffer = ryu::Buffer::new();
    let shortest = Decimal::parse(buffer.format_finite(value))?;
    shortest.same_number(&literal).then_some(value)
}

/// Most significant digits kept: more than the 17 an f64 ever needs.
const MAX_DIGITS: usize = 24;

/// A decimal literal in normal form: sign, significant digits (leading and trailing zeros
/// removed), and the power of ten of the position just left of the first digit.
#[derive(Debug)]
struct Decimal {
    negative: bool,
    digits: [u8; MAX_DIGITS],
    len: usize,
    /// More significant digits than `digits` holds (never the same number as an f64's).
    too_long: bool,
    point: i64,
}

impl Decimal {
    /// `-?digits[.digits][(e|E)[+-]?digits]`, integer part canonical (`0.5`, not `00.5`); a
    /// plain integer must be canonical as a whole (not `-0`).
    fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        if exponent.unsigned_abs() > 100_000 {
            return None;
        }
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return None;
        }
        if int_part.len() > 1 && int_part.starts_with('0') {
            return None;
        }
        if mantissa.len() == rest.len() && !mantissa.contains('.') && !canonical_integer(text) {
            return None;
        }
        let mut decimal = Self {
            negative,
            digits: [0; MAX_DIGITS],
            len: 0,
            too_long: false,
            point: int_part.len() as i64 + exponent,
        };
        // Digits after the last non-zero one are trailing zeros: counted, then dropped.
        let mut zeros_pending = 0usize;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            if decimal.len == 0 && b == b'0' {
                decimal.point -= 1;
                continue;
            }
            if b == b'0' {
                zeros_pending += 1;
                continue;
            }
            for _ in 0..zeros_pending {
                decimal.push(0);
            }
            zeros_pending = 0;
            decimal.push(b - b'0');
        }
        if decimal.len == 0 {
            decimal.point = 0;
        }
        Some(decimal)
    }

    fn push(&mut self, digit: u8) {
        if self.len < MAX_DIGITS {
            self.digits[self.len] = digit;
            self.len += 1;
        } else {
            self.too_long = true;
        }
    }

    fn same_number(&self, other: &Self) -> bool {
        !self.too_long
            && !other.too_long
            && self.digits[..self.len] == other.digits[..other.len]
            && self.point == other.point
            && (self.negative == other.negative || self.len == 0)
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub(crate) fn date32(text: &str) -> Option<i32> {
    let date = parse_date(text)?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(date.signed_duration_since(epoch).num_days()).ok()
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = &text[r];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// A timestamp read from text: the instant (naive, or converted to UTC when zoned), the number
/// of fraction digits written and whether it carried a zone.
pub(crate) struct Timestamp {
    pub(crate) value: NaiveDateTime,
    pub(crate) digits: u8,
    pub(crate) zoned: bool,
}

impl Timestamp {
    /// The value in `unit` since the epoch, when the unit holds every written digit and the
    /// value is in the unit's range.
    pub(crate) fn in_unit(&self, unit: TimeUnit) -> Option<i64> {
        if self.digits > unit_digits(unit) {
            return None;
        }
        let utc = self.value.and_utc();
        match unit {
            TimeUnit::Second => Some(utc.timestamp()),
            TimeUnit::Millisecond => Some(utc.timestamp_millis()),
            TimeUnit::Microsecond => Some(utc.timestamp_micros()),
            TimeUnit::Nanosecond => utc.timestamp_nanos_opt(),
        }
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|±HH:MM|±HHMM|±HH]`.
pub(crate) fn timestamp(text: &str) -> Option<Timestamp> {
    if text.len() < 19 || !text.is_char_boundary(10) || !text.is_char_boundary(19) {
        return None;
    }
    let date = parse_date(&text[..10])?;
    if !matches!(text.as_bytes()[10], b'T' | b' ') {
        return None;
    }
    let clock = &text[11..19];
    let b = clock.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return None;
    }
    let two = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (h, m, s) = (two(&clock[0..2])?, two(&clock[3..5])?, two(&clock[6..8])?);
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    let mut digits = 0u8;
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        digits = n as u8;
        nanos = fraction[..n].parse::<u32>().ok()? * 10u32.pow(9 - n as u32);
        rest = &fraction[n..];
    }
    let time = NaiveTime::from_hms_nano_opt(h, m, s, nanos)?;
    let local = NaiveDateTime::new(date, time);
    let (value, zoned) = match rest {
        "" => (local, false),
        "Z" | "z" => (local, true),
        offset => {
            let sign = match offset.as_bytes()[0] {
                b'+' => 1i64,
                b'-' => -1,
                _ => return None,
            };
            let body = &offset[1..];
            let (oh, om) = match body.len() {
                2 => (two(body)?, 0),
                4 => (two(&body[..2])?, two(&body[2..])?),
                5 if body.as_bytes()[2] == b':' => (two(&body[..2])?, two(&body[3..])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let shift = chrono::Duration::minutes(sign * (oh as i64 * 60 + om as i64));
            (local.checked_sub_signed(shift)?, true)
        }
    };
    Some(Timestamp {
        value,
        digits,
        zoned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_numbers_only_when_written_canonically() {
        assert_eq!(int64("0"), Some(0));
        assert_eq!(int64("-42"), Some(-42));
        assert_eq!(int64("9223372036854775807"), Some(i64::MAX));
        for text in ["00001", "+5", "-0", "1_000", " 1", "", "-", "12a"] {
            assert_eq!(int64(text), None, "{text:?}");
        }
        assert_eq!(int64("9223372036854775808"), None);
        assert_eq!(uint64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(uint64("18446744073709551616"), None);
        assert_eq!(uint64("-1"), None);
    }

    #[test]
    fn floats_are_numbers_only_when_f64_holds_them_as_written() {
        for (text, value) in [
            ("1.5", 1.5),
            ("1.50", 1.5),
            ("-0.25", -0.25),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e20", 1e20),
            ("2.5E-3", 0.0025),
            ("0.30000000000000004", 0.30000000000000004),
            ("0.0", 0.0),
            ("-0.0", -0.0),
            ("123456789012345", 123456789012345.0),
        ] {
            assert_eq!(float64(text), Some(value), "{text}");
        }
        for text in [
            "+5",
            "-0",
            "12345678901234567.5",
            "99999999999999999999",
            "0.1000000000000000055511151231257827",
            "007.5",
            "1e400",
            "abc",
            "1.2.3",
            "",
            "e5",
        ] {
            assert_eq!(float64(text), None, "{text}");
        }
        assert!(float64("NaN").unwrap().is_nan());
    }

    #[test]
    fn dates_and_timestamps_are_strict() {
        assert_eq!(date32("1970-01-02"), Some(1));
        assert_eq!(date32("2024-02-30"), None);
        assert_eq!(date32("2024-1-01"), None);
        let ts = timestamp("2024-01-01T10:00:00.123").unwrap();
        assert_eq!((ts.digits, ts.zoned), (3, false));
        assert_eq!(
            ts.in_unit(TimeUnit::Second),
            None,
            "the unit must hold every digit"
        );
        assert_eq!(ts.in_unit(TimeUnit::Millisecond), Some(1_704_103_200_123));
        let zoned = timestamp("2024-01-01 12:00:00+02:00").unwrap();
        assert!(zoned.zoned);
        assert_eq!(zoned.in_unit(TimeUnit::Second), Some(1_704_103_200));
        assert!(timestamp("2024-01-01T10:00:00Z").unwrap().zoned);
        for text in [
            "2024-01-01T25:00:00",
            "2024-01-01T10:00:00 garbage",
            "2024-01-01T10:00:00.",
            "2024-01-01T10:00:00.1234567890",
            "2024-01-01",
        ] {
            assert!(timestamp(text).is_none(), "{text}");
        }
    }

    #[test]
    fn a_column_takes_the_narrowest_exact_type() {
        let of = |values: &[&str]| column_type(values.iter().map(|v| classify(v)));
        assert_eq!(of(&["1", "2", "-3"]), Some(DataType::Int64));
        assert_eq!(of(&["00001", "00002"]), Some(DataType::Utf8));
        assert_eq!(of(&["1", "00002"]), Some(DataType::Utf8));
        assert_eq!(of(&["1", "18446744073709551615"]), Some(DataType::UInt64));
        assert_eq!(of(&["-1", "18446744073709551615"]), Some(DataType::Utf8));
        assert_eq!(of(&["1", "2.5"]), Some(DataType::Float64));
        assert_eq!(of(&["9007199254740993", "2.5"]), Some(DataType::Utf8));
        assert_eq!(of(&["1", "true"]), Some(DataType::Utf8));
        assert_eq!(of(&["TRUE", "false"]), Some(DataType::Boolean));
        assert_eq!(of(&["2024-01-01", "2024-01-02"]), Some(DataType::Date32));
        assert_eq!(
            of(&["2024-01-01", "2024-01-02 10:00:00.5"]),
            Some(DataType::Timestamp(TimeUnit::Millisecond, None))
        );
        assert_eq!(
            of(&["2024-01-01T10:00:00Z", "2024-01-02T10:00:00+01:00"]),
            Some(DataType::Timestamp(TimeUnit::Second, Some("UTC".into())))
        );
        assert_eq!(
            of(&["2024-01-01T10:00:00Z", "2024-01-02T10:00:00"]),
            Some(DataType::Utf8)
        );
        assert_eq!(of(&[]), None);
    }
}
