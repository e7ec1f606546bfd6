//! Before a row moves: the target's key column must tell apart every two keys the source tells
//! apart. Upserts on a column that compares more loosely (case- or accent-insensitive,
//! ignoring trailing spaces, shorter, narrower, coarser) would merge distinct source rows into
//! one and report success; such a column is refused, naming both definitions and the fix.
//!
//! A MySQL source carries each column's declared type, character set and collation in the
//! field metadata; any other source compares text as exact bytes (`'a' <> 'A' <> 'a '`).

use arrow::datatypes::{DataType, Field, TimeUnit};

use crate::mysql::catalog::{ColumnInfo, TextCompare};
use crate::mysql::types::{declared_column_type, is_text_type, text_compare, ColumnType};

/// How the source tells its keys apart.
#[derive(Debug)]
enum SourceKey {
    /// Text: compared by `compare` (exact bytes when `None`), at most `chars` characters, and
    /// `fixed` for a CHAR column (which drops trailing spaces).
    Text {
        compare: Option<TextCompare>,
        chars: Option<u64>,
        fixed: bool,
    },
    /// Bytes, at most `len`.
    Bytes {
        len: Option<u64>,
    },
    /// Integers in `min..=max`.
    Int {
        min: i128,
        max: i128,
    },
    Decimal {
        precision: u8,
        scale: i8,
    },
    /// A date (`fsp` None) or a date and time / a time with `fsp` fraction digits.
    Temporal {
        kind: Temporal,
        fsp: u8,
    },
    Float {
        double: bool,
    },
    /// Nothing this check knows how to compare.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Temporal {
    Date,
    DateTime,
    Time,
}

/// Why a target key column would merge distinct source keys, if it would.
pub(super) fn merge_risk(field: &Field, column: &ColumnInfo) -> Option<String> {
    let target = &column.column_type;
    match source_key(field) {
        SourceKey::Text {
            compare,
            chars,
            fixed,
        } => text_risk(compare.as_ref(), chars, fixed, column),
        SourceKey::Bytes { len } => {
            if !is_binary_type(&target.name) {
                return Some(format!(
                    "the source's keys are bytes, compared byte by byte; a {} column would compare them as text",
                    target.name
                ));
            }
            shorter(len, length_arg(target), "bytes")
        }
        SourceKey::Int { min, max } => {
            let Some((tmin, tmax)) = int_range(target) else {
                return Some(format!(
                    "the source's keys are integers; a {} column would convert them",
                    target.name
                ));
            };
            (min < tmin || max > tmax).then(|| {
                format!(
                    "the source's keys range over {min}..={max}, more than {} holds ({tmin}..={tmax}): larger keys would fail or be cut",
                    target.sql()
                )
            })
        }
        SourceKey::Decimal { precision, scale } => {
            if !matches!(
                target.name.as_str(),
                "decimal" | "numeric" | "dec" | "fixed"
            ) {
                return Some(format!(
                    "the source's keys are decimal({precision},{scale}); a {} column would convert them",
                    target.name
                ));
            }
            let p = arg(target, 0).unwrap_or(10) as i64;
            let s = arg(target, 1).unwrap_or(0) as i64;
            let (sp, ss) = (precision as i64, scale as i64);
            (s < ss || p - s < sp - ss).then(|| {
                format!(
                    "the source's keys are decimal({precision},{scale}); {} rounds or cuts some of them, so distinct keys could become one",
                    target.sql()
                )
            })
        }
        SourceKey::Temporal { kind, fsp } => temporal_risk(kind, fsp, target),
        SourceKey::Float { double } => {
            let ok = match target.name.as_str() {
                "double" | "real" => true,
                "float" => !double,
                _ => false,
            };
            (!ok).then(|| {
                format!(
                    "the source's keys are {} floats; a {} column would round or convert them",
                    if double { "64-bit" } else { "32-bit" },
                    target.sql()
                )
            })
        }
        SourceKey::Other => None,
    }
}

/// How `field`'s values are told apart at the source.
fn source_key(field: &Field) -> SourceKey {
    let declared = declared_column_type(field);
    let declared_text = declared.as_ref().filter(|t| is_text_type(&t.name));
    match field.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SourceKey::Text {
            compare: declared_text.and_then(|_| text_compare(field)),
            chars: declared_text
                .filter(|t| matches!(t.name.as_str(), "char" | "varchar"))
                .and_then(|t| arg(t, 0)),
            fixed: declared_text.is_some_and(|t| t.name == "char"),
        },
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => SourceKey::Bytes {
            len: declared
                .as_ref()
                .filter(|t| matches!(t.name.as_str(), "binary" | "varbinary"))
                .and_then(|t| arg(t, 0)),
        },
        DataType::FixedSizeBinary(n) => SourceKey::Bytes {
            len: Some(*n as u64),
        },
        DataType::Boolean => SourceKey::Int { min: 0, max: 1 },
        DataType::Int8 => int(i8::MIN as i128, i8::MAX as i128),
        DataType::Int16 => int(i16::MIN as i128, i16::MAX as i128),
        DataType::Int32 => match declared.as_ref().map(|t| t.name.as_str()) {
            Some("mediumint") => SourceKey::Int {
                min: -(1 << 23),
                max: (1 << 23) - 1,
            },
            _ => int(i32::MIN as i128, i32::MAX as i128),
        },
        DataType::Int64 => int(i64::MIN as i128, i64::MAX as i128),
        DataType::UInt8 => int(0, u8::MAX as i128),
        DataType::UInt16 => match declared.as_ref().map(|t| t.name.as_str()) {
            Some("year") => SourceKey::Int { min: 0, max: 2155 },
            _ => int(0, u16::MAX as i128),
        },
        DataType::UInt32 => match declared.as_ref().map(|t| t.name.as_str()) {
            Some("mediumint") => SourceKey::Int {
                min: 0,
                max: (1 << 24) - 1,
            },
            _ => int(0, u32::MAX as i128),
        },
        DataType::UInt64 => int(0, u64::MAX as i128),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => SourceKey::Decimal {
            precision: *p,
            scale: *s,
        },
        DataType::Date32 | DataType::Date64 => SourceKey::Temporal {
            kind: Temporal::Date,
            fsp: 0,
        },
        DataType::Timestamp(unit, _) => SourceKey::Temporal {
            kind: Temporal::DateTime,
            fsp: declared_fsp(declared.as_ref()).unwrap_or(unit_digits(*unit)),
        },
        DataType::Duration(unit) | DataType::Time32(unit) | DataType::Time64(unit) => {
            SourceKey::Temporal {
                kind: Temporal::Time,
                fsp: declared_fsp(declared.as_ref()).unwrap_or(unit_digits(*unit)),
            }
        }
        DataType::Float32 | DataType::Float16 => SourceKey::Float { double: false },
        DataType::Float64 => SourceKey::Float { double: true },
        _ => SourceKey::Other,
    }
}

fn int(min: i128, max: i128) -> SourceKey {
    SourceKey::Int { min, max }
}

fn unit_digits(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

/// Fraction digits of a declared `datetime(n)` / `timestamp(n)` / `time(n)`.
fn declared_fsp(declared: Option<&ColumnType>) -> Option<u8> {
    let t = declared?;
    matches!(t.name.as_str(), "datetime" | "timestamp" | "time")
        .then(|| arg(t, 0).unwrap_or(0) as u8)
}

fn arg(t: &ColumnType, i: usize) -> Option<u64> {
    t.args.get(i).and_then(|a| a.parse().ok())
}

fn length_arg(t: &ColumnType) -> Option<u64> {
    match t.name.as_str() {
        "char" | "varchar" | "binary" | "varbinary" => Some(arg(t, 0).unwrap_or(1)),
        _ => None,
    }
}

fn is_binary_type(name: &str) -> bool {
    matches!(
        name,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
    )
}

/// Writer shorter than the source's longest key.
fn shorter(source: Option<u64>, target: Option<u64>, unit: &str) -> Option<String> {
    match (source, target) {
        (Some(s), Some(t)) if t < s => Some(format!(
            "the source's keys are up to {s} {unit} long and the column holds {t}: longer keys would fail or be cut"
        )),
        _ => None,
    }
}

/// Whether a collation ignores trailing spaces (`PAD SPACE`): every collation but the
/// `NO PAD` ones (MariaDB's `*_nopad_*`, MySQL 8's `*_0900_*`) and `binary`.
fn pads(collation: &str) -> bool {
    !(collation == "binary" || collation.contains("_nopad_") || collation.contains("_0900_"))
}

/// Whether a collation compares code units exactly (besides padding).
fn exact(collation: &str) -> bool {
    collation == "binary" || collation.ends_with("_bin")
}

/// Whether text in `source` (a character set; `None`: any Unicode) always fits `target`.
fn charset_holds(target: &str, source: Option<&str>) -> bool {
    if target == "utf8mb4" || target == "binary" || Some(target) == source {
        return true;
    }
    matches!(
        (target, source),
        (
            "utf8mb3" | "utf8",
            Some("ascii" | "latin1" | "utf8mb3" | "utf8")
        ) | ("latin1", Some("ascii"))
    )
}

fn text_risk(
    compare: Option<&TextCompare>,
    chars: Option<u64>,
    fixed: bool,
    column: &ColumnInfo,
) -> Option<String> {
    let target = &column.column_type;
    let how = compare.map_or_else(
        || "byte by byte (as text from a non-MySQL source is)".to_string(),
        |c| format!("with collation {}", c.collation),
    );
    if is_binary_type(&target.name) {
        return shorter(chars.map(|c| c * 4), length_arg(target), "bytes");
    }
    if !is_text_type(&target.name) {
        return Some(format!(
            "the source's keys are text, compared {how}; a {} column would convert them",
            target.sql()
        ));
    }
    let Some(text) = &column.text else {
        return None;
    };
    if !charset_holds(&text.charset, compare.map(|c| c.charset.as_str())) {
        return Some(format!(
            "character set {} cannot hold every key of the source ({}): characters it lacks would be replaced, and keys that differ only there would become one",
            text.charset,
            compare.map_or("any Unicode text", |c| c.charset.as_str())
        ));
    }
    if let Some(why) = shorter(chars, length_arg(target), "characters") {
        return Some(why);
    }
    let source_pads = compare.is_some_and(|c| pads(&c.collation)) || fixed;
    if target.name == "char" && !source_pads {
        return Some(format!(
            "a CHAR column drops trailing spaces, so keys the source tells apart ({how}) such as 'a' and 'a ' would become one"
        ));
    }
    if compare.is_some_and(|c| c.collation == text.collation) {
        return None;
    }
    if !exact(&text.collation) {
        return Some(format!(
            "collation {} compares keys more loosely than the source ({how}): keys such as 'a' and 'A' (or 'e' and 'é') would become one",
            text.collation
        ));
    }
    if pads(&text.collation) && !source_pads {
        return Some(format!(
            "collation {} ignores trailing spaces (PAD SPACE) and the source ({how}) does not: keys such as 'a' and 'a ' would become one",
            text.collation
        ));
    }
    None
}

fn int_range(t: &ColumnType) -> Option<(i128, i128)> {
    let (bits, unsigned) = match t.name.as_str() {
        "tinyint" | "bool" | "boolean" => (8, t.unsigned),
        "smallint" => (16, t.unsigned),
        "mediumint" => (24, t.unsigned),
        "int" | "integer" => (32, t.unsigned),
        "bigint" => (64, t.unsigned),
        "decimal" | "numeric" | "dec" | "fixed" if arg(t, 1).unwrap_or(0) == 0 => {
            let digits = arg(t, 0).unwrap_or(10).min(38) as u32;
            let max = 10i128.pow(digits) - 1;
            return Some((if t.unsigned { 0 } else { -max }, max));
        }
        _ => return None,
    };
    Some(if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    })
}

fn temporal_risk(kind: Temporal, fsp: u8, target: &ColumnType) -> Option<String> {
    let tfsp = arg(target, 0).unwrap_or(0) as u8;
    let fits = match (kind, target.name.as_str()) {
        (Temporal::Date, "date" | "datetime" | "timestamp") => true,
        (Temporal::DateTime, "datetime" | "timestamp") => tfsp >= fsp,
        (Temporal::Time, "time") => tfsp >= fsp,
        _ => false,
    };
    (!fits).then(|| {
        let what = match kind {
            Temporal::Date => "dates".to_string(),
            Temporal::DateTime => format!("date-times with {fsp} fraction digits"),
            Temporal::Time => format!("times with {fsp} fraction digits"),
        };
        format!(
            "the source's keys are {what}; {} drops precision or converts them, so distinct keys could become one",
            target.sql()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::types::field_for_column;

    fn column(declared: &str, collation: Option<(&str, &str)>) -> ColumnInfo {
        ColumnInfo {
            name: "k".into(),
            column_type: ColumnType::parse(declared).unwrap(),
            nullable: false,
            primary: true,
            text: collation.map(|(charset, collation)| TextCompare {
                charset: charset.into(),
                collation: collation.into(),
            }),
        }
    }

    fn mysql_field(declared: &str, collation: Option<(&str, &str)>) -> Field {
        let compare = collation.map(|(charset, collation)| TextCompare {
            charset: charset.into(),
            collation: collation.into(),
        });
        field_for_column(
            "k",
            &ColumnType::parse(declared).unwrap(),
            false,
            compare.as_ref(),
        )
        .unwrap()
    }

    #[test]
    fn text_keys_need_a_column_at_least_as_strict() {
        let bin = mysql_field("varchar(32)", Some(("utf8mb4", "utf8mb4_bin")));
        let ci = column("varchar(32)", Some(("utf8mb4", "utf8mb4_general_ci")));
        let why = merge_risk(&bin, &ci).unwrap();
        assert!(
            why.contains("utf8mb4_general_ci") && why.contains("'A'"),
            "{why}"
        );
        assert!(merge_risk(
            &bin,
            &column("varchar(32)", Some(("utf8mb4", "utf8mb4_bin")))
        )
        .is_none());
        // Same collation on both sides: the same keys are equal.
        let ci_source = mysql_field("varchar(32)", Some(("utf8mb4", "utf8mb4_general_ci")));
        assert!(merge_risk(&ci_source, &ci).is_none());
        // A looser source into a stricter column is fine.
        assert!(merge_risk(
            &ci_source,
            &column("varchar(32)", Some(("utf8mb4", "utf8mb4_bin")))
        )
        .is_none());
        // Another case-insensitive collation has other equalities ('ß' = 'ss'): refused.
        assert!(merge_risk(
            &ci_source,
            &column("varchar(32)", Some(("utf8mb4", "utf8mb4_unicode_ci")))
        )
        .is_some());
        // Shorter, narrower.
        let why = merge_risk(
            &bin,
            &column("varchar(16)", Some(("utf8mb4", "utf8mb4_bin"))),
        )
        .unwrap();
        assert!(why.contains("32 characters"), "{why}");
        let why = merge_risk(&bin, &column("varchar(32)", Some(("latin1", "latin1_bin")))).unwrap();
        assert!(why.contains("character set latin1"), "{why}");
        // varbinary holds the bytes exactly if it is long enough (4 bytes a character).
        assert!(merge_risk(&bin, &column("varbinary(128)", None)).is_none());
        assert!(merge_risk(&bin, &column("varbinary(64)", None)).is_some());
    }

    #[test]
    fn trailing_spaces_count_where_the_source_counts_them() {
        // A non-MySQL source compares bytes: 'a' and 'a ' differ.
        let plain = Field::new("k", DataType::Utf8, false);
        let pad = column("varchar(255)", Some(("utf8mb4", "utf8mb4_bin")));
        let why = merge_risk(&plain, &pad).unwrap();
        assert!(why.contains("PAD SPACE") && why.contains("'a '"), "{why}");
        assert!(merge_risk(
            &plain,
            &column("varchar(255)", Some(("utf8mb4", "utf8mb4_nopad_bin")))
        )
        .is_none());
        assert!(merge_risk(
            &plain,
            &column("varchar(255)", Some(("utf8mb4", "utf8mb4_0900_bin")))
        )
        .is_none());
        assert!(merge_risk(
            &plain,
            &column("varchar(255)", Some(("utf8mb4", "utf8mb4_general_ci")))
        )
        .is_some());
        // A PAD SPACE source cannot hold both, so a PAD SPACE column is fine for it.
        let pad_source = mysql_field("varchar(10)", Some(("utf8mb4", "utf8mb4_bin")));
        assert!(merge_risk(&pad_source, &pad).is_none());
        // CHAR drops trailing spaces whatever the collation.
        let nopad_source = mysql_field("varchar(10)", Some(("utf8mb4", "utf8mb4_nopad_bin")));
        let why = merge_risk(
            &nopad_source,
            &column("char(10)", Some(("utf8mb4", "utf8mb4_nopad_bin"))),
        )
        .unwrap();
        assert!(why.contains("CHAR"), "{why}");
    }

    #[test]
    fn numeric_and_temporal_keys_need_room() {
        let big = Field::new("k", DataType::Int64, false);
        let why = merge_risk(&big, &column("int(11)", None)).unwrap();
        assert!(why.contains("int(11)"), "{why}");
        assert!(merge_risk(&big, &column("bigint(20)", None)).is_none());
        assert!(merge_risk(&big, &column("decimal(20,0)", None)).is_none());
        let unsigned = Field::new("k", DataType::UInt64, false);
        assert!(merge_risk(&unsigned, &column("bigint(20)", None)).is_some());
        assert!(merge_risk(&unsigned, &column("bigint(20) unsigned", None)).is_none());
        let money = Field::new("k", DataType::Decimal128(12, 4), false);
        assert!(merge_risk(&money, &column("decimal(12,2)", None)).is_some());
        assert!(merge_risk(&money, &column("decimal(14,4)", None)).is_none());
        let at = mysql_field("datetime(6)", None);
        assert!(merge_risk(&at, &column("datetime", None)).is_some());
        assert!(merge_risk(&at, &column("timestamp(6)", None)).is_none());
        let text_into_int = Field::new("k", DataType::Utf8, false);
        assert!(merge_risk(&text_into_int, &column("bigint", None)).is_some());
    }
}
