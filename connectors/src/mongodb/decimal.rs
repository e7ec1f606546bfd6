//! BSON Decimal128 values (IEEE 754-2008 decimal128, binary integer decimal encoding) as Arrow
//! `Decimal128(precision, scale)` integers.
//!
//! `bson` 2 exposes a Decimal128 only as its 16 bytes (and a string form), so the value is
//! decoded here: sign, a coefficient below 10^34 and an exponent in [-6176, 6111].

use std::cmp::Ordering;

/// Largest coefficient of a canonical decimal128 (34 nines); larger ones read as zero.
const MAX_COEFFICIENT: u128 = 9_999_999_999_999_999_999_999_999_999_999_999;
/// Subtracted from the stored exponent.
const EXPONENT_BIAS: i32 = 6176;
/// Arrow's largest decimal128 precision.
pub(super) const MAX_PRECISION: u8 = 38;

/// A decoded decimal128.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decimal {
    /// `(-1)^negative × coefficient × 10^exponent`.
    Finite {
        negative: bool,
        coefficient: u128,
        exponent: i32,
    },
    /// Positive or negative infinity.
    Infinity,
    /// Not a number (quiet or signalling).
    NaN,
}

/// Decode the 16 bytes of a BSON Decimal128 (little-endian, as stored in BSON).
pub(super) fn decode(bytes: [u8; 16]) -> Decimal {
    let bits = u128::from_le_bytes(bytes);
    let negative = bits >> 127 == 1;
    // The five bits after the sign: 11111 is NaN, 11110 infinity.
    match (bits >> 122) & 0x1f {
        0x1f => return Decimal::NaN,
        0x1e => return Decimal::Infinity,
        _ => {}
    }
    let (biased, coefficient) = if (bits >> 125) & 0b11 == 0b11 {
        // Second form: a 14-bit exponent after `11`, and an implied `100` prefix on the
        // coefficient, which makes it at least 2^113 > MAX_COEFFICIENT: non-canonical, zero.
        ((bits >> 111) & 0x3fff, 0)
    } else {
        ((bits >> 113) & 0x3fff, bits & ((1u128 << 113) - 1))
    };
    let coefficient = if coefficient > MAX_COEFFICIENT {
        0
    } else {
        coefficient
    };
    Decimal::Finite {
        negative,
        coefficient,
        // At most 14 bits: the cast cannot truncate.
        exponent: biased as i32 - EXPONENT_BIAS,
    }
}

impl Decimal {
    /// The scale that holds this value without rounding (digits after the point), capped at
    /// [`MAX_PRECISION`]; 0 for integers, infinities and NaN.
    ///
    /// Trailing zeros of the coefficient do not count: `1.000` and `0E-30` need no more scale
    /// than `1` and `0`, so one such value in a sample does not narrow the column's range.
    pub fn scale(&self) -> i8 {
        match *self {
            Decimal::Finite {
                mut coefficient,
                mut exponent,
                ..
            } if exponent < 0 => {
                if coefficient == 0 {
                    return 0;
                }
                while exponent < 0 && coefficient % 10 == 0 {
                    coefficient /= 10;
                    exponent += 1;
                }
                // min() keeps it within 38, so the cast is exact.
                (-exponent).min(i32::from(MAX_PRECISION)) as i8
            }
            _ => 0,
        }
    }

    /// The value as the integer of an Arrow `Decimal128(precision, scale)`, or `None` when it
    /// does not fit: NaN, an infinity, more digits than `precision`, or digits beyond `scale`
    /// (decimals are never rounded).
    pub fn to_scaled(self, precision: u8, scale: i8) -> Option<i128> {
        let Decimal::Finite {
            negative,
            coefficient,
            exponent,
        } = self
        else {
            return None;
        };
        let shift = exponent + i32::from(scale);
        // coefficient < 10^34 < 2^127: the cast is exact.
        let magnitude = match shift.cmp(&0) {
            Ordering::Equal => coefficient as i128,
            Ordering::Greater => {
                if coefficient == 0 {
                    0
                } else {
                    (coefficient as i128).checked_mul(pow10(shift)?)?
                }
            }
            Ordering::Less => {
                let divisor = pow10(-shift);
                match divisor {
                    // 10^39 and beyond exceed any coefficient: only zero divides exactly.
                    None if coefficient == 0 => 0,
                    None => return None,
                    Some(d) => {
                        let c = coefficient as i128;
                        if c % d != 0 {
                            return None;
                        }
                        c / d
                    }
                }
            }
        };
        if magnitude >= pow10(i32::from(precision.min(MAX_PRECISION)))? {
            return None;
        }
        Some(if negative { -magnitude } else { magnitude })
    }
}

/// 10^exp as an i128, for 0 <= exp <= 38.
fn pow10(exp: i32) -> Option<i128> {
    u32::try_from(exp).ok().and_then(|e| 10i128.checked_pow(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::Decimal128;

    /// The bytes of `sign × coefficient × 10^exponent` in the first (common) form.
    fn encode(negative: bool, coefficient: u128, exponent: i32) -> [u8; 16] {
        let biased = (exponent + EXPONENT_BIAS) as u128;
        let bits = (u128::from(negative) << 127) | (biased << 113) | coefficient;
        bits.to_le_bytes()
    }

    fn parsed(s: &str) -> Decimal {
        decode(s.parse::<Decimal128>().expect("a decimal").bytes())
    }

    #[test]
    fn known_encodings_decode() {
        // From the BSON decimal128 specification's test vectors (high word first).
        let one = (0x3040_0000_0000_0000u128 << 64 | 1).to_le_bytes();
        assert_eq!(
            decode(one),
            Decimal::Finite {
                negative: false,
                coefficient: 1,
                exponent: 0
            }
        );
        let minus_one_point_five = (0xB03E_0000_0000_0000u128 << 64 | 15).to_le_bytes();
        assert_eq!(
            decode(minus_one_point_five),
            Decimal::Finite {
                negative: true,
                coefficient: 15,
                exponent: -1
            }
        );
        let nan = (0x7C00_0000_0000_0000u128 << 64).to_le_bytes();
        assert_eq!(decode(nan), Decimal::NaN);
        let inf = (0x7800_0000_0000_0000u128 << 64).to_le_bytes();
        assert_eq!(decode(inf), Decimal::Infinity);
        let neg_inf = (0xF800_0000_0000_0000u128 << 64).to_le_bytes();
        assert_eq!(decode(neg_inf), Decimal::Infinity);
        // A coefficient above 34 nines is non-canonical: zero, exponent kept.
        let too_big = encode(false, (1u128 << 113) - 1, -3);
        assert_eq!(
            decode(too_big),
            Decimal::Finite {
                negative: false,
                coefficient: 0,
                exponent: -3
            }
        );
        // The second form (`11` after the sign) is always non-canonical: zero.
        let second_form = ((0b11u128 << 125) | (6176u128 << 111) | 5).to_le_bytes();
        assert_eq!(
            decode(second_form),
            Decimal::Finite {
                negative: false,
                coefficient: 0,
                exponent: 0
            }
        );
    }

    #[test]
    fn decoding_agrees_with_the_bson_crate_encoder() {
        for (text, negative, coefficient, exponent) in [
            ("0", false, 0, 0),
            ("3.14159", false, 314159, -5),
            ("-0.000001234", true, 1234, -9),
            ("1.05E+3", false, 105, 1),
            (
                "9999999999999999999999999999999999",
                false,
                MAX_COEFFICIENT,
                0,
            ),
            ("1E-6176", false, 1, -6176),
            ("-1.0E+6111", true, 10, 6110),
        ] {
            assert_eq!(
                parsed(text),
                Decimal::Finite {
                    negative,
                    coefficient,
                    exponent
                },
                "{text}"
            );
            assert_eq!(
                decode(encode(negative, coefficient, exponent)),
                parsed(text),
                "{text}"
            );
        }
        assert_eq!(parsed("NaN"), Decimal::NaN);
        assert_eq!(parsed("-Infinity"), Decimal::Infinity);
    }

    #[test]
    fn scaled_values_are_exact_or_refused() {
        assert_eq!(parsed("12.5").to_scaled(38, 2), Some(1250));
        assert_eq!(parsed("-12.50").to_scaled(10, 2), Some(-1250));
        assert_eq!(parsed("1.05E+3").to_scaled(38, 0), Some(1050));
        assert_eq!(parsed("1.05E+3").to_scaled(38, 3), Some(1_050_000));
        assert_eq!(parsed("0E-7000").to_scaled(38, 2), Some(0));
        assert_eq!(parsed("0E+6000").to_scaled(38, 2), Some(0));
        // Digits beyond the scale would be rounded: refused.
        assert_eq!(parsed("1.255").to_scaled(38, 2), None);
        assert_eq!(parsed("1E-100").to_scaled(38, 38), None);
        // Trailing zeros beyond the scale are exact.
        assert_eq!(parsed("1.2500").to_scaled(38, 2), Some(125));
        // Too many digits for the precision.
        assert_eq!(parsed("123.45").to_scaled(4, 2), None);
        assert_eq!(parsed("99.99").to_scaled(4, 2), Some(9999));
        assert_eq!(parsed("1E+38").to_scaled(38, 0), None);
        assert_eq!(
            parsed("9999999999999999999999999999999999E+4").to_scaled(38, 0),
            Some(99_999_999_999_999_999_999_999_999_999_999_990_000)
        );
        assert_eq!(parsed("NaN").to_scaled(38, 2), None);
        assert_eq!(parsed("Infinity").to_scaled(38, 2), None);
    }

    #[test]
    fn scale_is_the_digits_after_the_point() {
        assert_eq!(parsed("12.50").scale(), 1, "trailing zeros need no scale");
        assert_eq!(parsed("12.05").scale(), 2);
        assert_eq!(parsed("0E-30").scale(), 0);
        assert_eq!(parsed("1.000000").scale(), 0);
        assert_eq!(parsed("7").scale(), 0);
        assert_eq!(parsed("7E+3").scale(), 0);
        assert_eq!(parsed("1E-50").scale(), 38);
        assert_eq!(parsed("NaN").scale(), 0);
    }
}
