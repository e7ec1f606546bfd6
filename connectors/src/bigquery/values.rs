//! The text values the REST API sends, parsed exactly: every scalar arrives as a string
//! (integers, decimals, timestamps as integer microseconds or float seconds, base64 bytes).

use arrow::datatypes::i256;

use super::types::{BIGNUMERIC_SCALE, NUMERIC_PRECISION, NUMERIC_SCALE};

/// INT64: a decimal integer.
pub(super) fn parse_int64(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// FLOAT64: a decimal or scientific number, or `NaN` / `Infinity` / `-Infinity` (any case, and
/// the `inf` spelling some servers use).
pub(super) fn parse_float64(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// BOOL: `true` or `false`.
pub(super) use crate::text::boolean as parse_bool;

/// NUMERIC: the value × 10⁹, exactly; more than 38 digits or a non-zero digit past the ninth
/// decimal is refused.
pub(super) fn parse_numeric(text: &str) -> Option<i128> {
    let value = parse_decimal(text, NUMERIC_SCALE as u32, false)?.to_i128()?;
    (value.unsigned_abs() < 10u128.pow(NUMERIC_PRECISION as u32)).then_some(value)
}

/// BIGNUMERIC: the value × 10³⁸, exactly, anywhere in BigQuery's BIGNUMERIC range (which is
/// the 256-bit integer range at scale 38).
pub(super) fn parse_bignumeric(text: &str) -> Option<i256> {
    parse_decimal(text, BIGNUMERIC_SCALE as u32, false)
}

/// TIMESTAMP: integer microseconds since the epoch (what `formatOptions.useInt64Timestamp`
/// asks for), or seconds as a decimal or scientific number (`1.7092100967890121E9`, the
/// default format), converted exactly and rounded to the microsecond.
pub(super) fn parse_timestamp(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    parse_decimal(text, 6, true)?.to_i128()?.try_into().ok()
}

/// DATE: `YYYY-MM-DD` → days since 1970-01-01.
pub(super) fn parse_date(text: &str) -> Option<i32> {
    let date = date_of(text)?;
    let days = date.signed_duration_since(epoch()).num_days();
    days.try_into().ok()
}

/// TIME: `HH:MM:SS[.ffffff]` → microseconds since midnight.
pub(super) fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = two_digits(&bytes[0..2])?;
    let minute = two_digits(&bytes[3..5])?;
    let second = two_digits(&bytes[6..8])?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let micros = fraction_micros(&bytes[8..])?;
    Some(((hour * 60 + minute) * 60 + second) * 1_000_000 + micros)
}

/// DATETIME: `YYYY-MM-DD[T ]HH:MM:SS[.ffffff]` → microseconds since 1970-01-01T00:00:00.
pub(super) fn parse_datetime(text: &str) -> Option<i64> {
    let split = text.find(['T', 't', ' '])?;
    let days = i64::from(parse_date(&text[..split])?);
    let time = parse_time(&text[split + 1..])?;
    days.checked_mul(86_400_000_000)?.checked_add(time)
}

/// BYTES: standard base64.
pub(super) fn parse_bytes(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

fn epoch() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// `YYYY-MM-DD` (a year of 4 digits, as BigQuery's range 0001–9999 has).
fn date_of(text: &str) -> Option<chrono::NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = two_digits(&bytes[0..2])? * 100 + two_digits(&bytes[2..4])?;
    let month = two_digits(&bytes[5..7])?;
    let day = two_digits(&bytes[8..10])?;
    chrono::NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
}

fn two_digits(bytes: &[u8]) -> Option<i64> {
    match bytes {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some(i64::from(a - b'0') * 10 + i64::from(b - b'0')),
        _ => None,
    }
}

/// `""` or `.f` … `.ffffff` → microseconds.
fn fraction_micros(bytes: &[u8]) -> Option<i64> {
    let Some(digits) = bytes.strip_prefix(b".") else {
        return bytes.is_empty().then_some(0);
    };
    if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut micros = 0i64;
    for i in 0..6 {
        micros = micros * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    Some(micros)
}

/// A decimal or scientific number (`-12.5`, `1E-9`, `1.7092100967890121E9`) × 10^`scale`, as an
/// exact 256-bit integer. Digits past `scale` decimals must be zeros, unless `round` (then the
/// value is rounded half away from zero). `None` when the text is not a number or the value
/// does not fit.
pub(super) fn parse_decimal(text: &str, scale: u32, round: bool) -> Option<i256> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => {
            let exponent: i64 = unsigned[at + 1..].parse().ok()?;
            (&unsigned[..at], exponent)
        }
        None => (unsigned, 0),
    };
    if exponent.unsigned_abs() > 10_000 {
        return None;
    }
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    // value × 10^scale = digits × 10^shift
    let shift = i64::from(scale) + exponent - frac_part.len() as i64;
    let (kept, dropped): (&[u8], &[u8]) = if shift >= 0 {
        (&digits, &[])
    } else {
        let drop = usize::try_from(shift.unsigned_abs())
            .ok()?
            .min(digits.len());
        digits.split_at(digits.len() - drop)
    };
    let ten = i256::from_i128(10);
    let mut value = i256::ZERO;
    for &d in kept {
        value = value
            .checked_mul(ten)?
            .checked_add(i256::from_i128(i128::from(d)))?;
    }
    if shift > 0 {
        value = value.checked_mul(ten.checked_pow(u32::try_from(shift).ok()?)?)?;
    }
    // When every digit is dropped and more places than digits are dropped, the first dropped
    // digit is an implicit zero: the value rounds to zero.
    let all_dropped_beyond = shift < 0 && shift.unsigned_abs() as usize > digits.len();
    if dropped.iter().any(|&d| d != 0) {
        if !round {
            return None;
        }
        if !all_dropped_beyond && dropped[0] >= 5 {
            value = value.checked_add(i256::ONE)?;
        }
    }
    if negative {
        value = value.checked_neg()?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_is_exact_at_scale_9() {
        assert_eq!(parse_numeric("123.456000000"), Some(123_456_000_000));
        assert_eq!(parse_numeric("1.5"), Some(1_500_000_000));
        assert_eq!(parse_numeric("-0.000000001"), Some(-1));
        assert_eq!(
            parse_numeric("1E-9"),
            Some(1),
            "scientific, as the emulator sends"
        );
        assert_eq!(parse_numeric("1.25E2"), Some(125_000_000_000));
        assert_eq!(parse_numeric("0"), Some(0));
        assert_eq!(
            parse_numeric("99999999999999999999999999999.999999999"),
            Some(99_999_999_999_999_999_999_999_999_999_999_999_999)
        );
        assert_eq!(
            parse_numeric("-99999999999999999999999999999.999999999"),
            Some(-99_999_999_999_999_999_999_999_999_999_999_999_999)
        );
        assert_eq!(
            parse_numeric("100000000000000000000000000000"),
            None,
            "39 digits"
        );
        assert_eq!(
            parse_numeric("0.0000000001"),
            None,
            "a tenth decimal is not NUMERIC"
        );
        assert_eq!(
            parse_numeric("0.1000000000"),
            Some(100_000_000),
            "trailing zeros are fine"
        );
        for bad in ["", "-", ".", "1.2.3", "12a", "1e", "NaN", " 1"] {
            assert_eq!(parse_numeric(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bignumeric_is_exact_at_scale_38() {
        let one = parse_bignumeric("1").unwrap();
        assert_eq!(one, i256::from_i128(10i128.pow(38)));
        let small = parse_bignumeric("-0.00000000000000000000000000000000000001").unwrap();
        assert_eq!(small, i256::MINUS_ONE);
        let big = "578960446186580977117854925043439539266.34992332820282019728792003956564819967";
        let max = parse_bignumeric(big).unwrap();
        assert_eq!(
            max,
            i256::MAX,
            "BIGNUMERIC's largest value is i256::MAX at scale 38"
        );
        assert_eq!(
            parse_bignumeric(
                "578960446186580977117854925043439539266.34992332820282019728792003956564819968"
            ),
            None
        );
        assert_eq!(
            parse_bignumeric(
                "123456789012345678901234567890.12345678901234567890123456789012345678"
            )
            .map(|v| v.to_string()),
            Some("12345678901234567890123456789012345678901234567890123456789012345678".into())
        );
    }

    #[test]
    fn timestamps_are_microseconds_exactly() {
        assert_eq!(
            parse_timestamp("1709210096789012"),
            Some(1_709_210_096_789_012)
        );
        assert_eq!(parse_timestamp("-1"), Some(-1));
        assert_eq!(
            parse_timestamp("253402300799999999"),
            Some(253_402_300_799_999_999)
        );
        // The float-seconds format, never through f64.
        assert_eq!(
            parse_timestamp("1.709210096789012E9"),
            Some(1_709_210_096_789_012)
        );
        assert_eq!(
            parse_timestamp("1709210096.789012"),
            Some(1_709_210_096_789_012)
        );
        assert_eq!(
            parse_timestamp("1.7092100967890121E9"),
            Some(1_709_210_096_789_012)
        );
        assert_eq!(
            parse_timestamp("1.7092100967890129E9"),
            Some(1_709_210_096_789_013)
        );
        assert_eq!(parse_timestamp("-1.0E-6"), Some(-1));
        assert_eq!(
            parse_timestamp("-6.2135596800E10"),
            Some(-62_135_596_800_000_000)
        );
        assert_eq!(parse_timestamp("0.0"), Some(0));
        assert_eq!(parse_timestamp("1E-9"), Some(0));
        assert_eq!(parse_timestamp("2024-01-01"), None);
    }

    #[test]
    fn dates_times_and_datetimes() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("0001-01-01"), Some(-719_162));
        assert_eq!(parse_date("9999-12-31"), Some(2_932_896));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-2-9"), None);
        assert_eq!(parse_time("00:00:00"), Some(0));
        assert_eq!(parse_time("12:34:56.789012"), Some(45_296_789_012));
        assert_eq!(parse_time("23:59:59.999999"), Some(86_399_999_999));
        assert_eq!(parse_time("01:02:03.5"), Some(3_723_500_000));
        assert_eq!(parse_time("24:00:00"), None);
        assert_eq!(
            parse_time("12:34:56.1234567"),
            None,
            "finer than BigQuery's microsecond"
        );
        assert_eq!(parse_time("12:34:56."), None);
        assert_eq!(
            parse_datetime("2024-02-29T12:34:56.789012"),
            Some(19_782 * 86_400_000_000 + 45_296_789_012)
        );
        assert_eq!(
            parse_datetime("2024-02-29 12:34:56"),
            Some(19_782 * 86_400_000_000 + 45_296_000_000)
        );
        assert_eq!(
            parse_datetime("0001-01-01T00:00:00"),
            Some(-62_135_596_800_000_000)
        );
        assert_eq!(parse_datetime("2024-02-29"), None);
    }

    #[test]
    fn floats_bools_ints_and_bytes() {
        assert!(parse_float64("NaN").unwrap().is_nan());
        assert!(parse_float64("nan").unwrap().is_nan());
        assert_eq!(parse_float64("Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_float64("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float64("inf"), Some(f64::INFINITY));
        assert_eq!(parse_float64("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float64("1.5"), Some(1.5));
        assert_eq!(
            parse_float64("2.2250738585072014E-308"),
            Some(2.2250738585072014e-308)
        );
        assert_eq!(parse_float64("x"), None);
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("1"), None);
        assert_eq!(parse_int64("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int64("9223372036854775808"), None);
        assert_eq!(parse_bytes("AAEC/w=="), Some(vec![0, 1, 2, 255]));
        assert_eq!(parse_bytes(""), Some(vec![]));
        assert_eq!(parse_bytes("not base64!"), None);
    }
}
