//! Arrow record batches → the text the MySQL/MariaDB target loads: `LOAD DATA` rows or the
//! tuples of an `INSERT … VALUES`.
//!
//! Each column's type is resolved once per batch into a [`WriteValue`] closure over the downcast
//! array; the row loop then appends every value straight into one output buffer.

use std::fmt::Write as _;
use std::ops::Range;

use arrow::array::{Array, ArrayAccessor, AsArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::*;
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};

use crate::{ConnectorError, Result};

/// Why one value cannot be written; the row loop adds the column and the row.
type ValueResult = std::result::Result<(), String>;

/// For each byte, the letter written after a backslash to escape it, or 0 to copy it as is.
type Escapes = [u8; 256];

/// Appends the text of the (non-null) value at a row, escaping text with the given table.
/// `Send + Sync` so that a writer can hold a [`BatchEncoder`] across an `.await`.
type WriteValue<'a> = Box<dyn Fn(usize, &Escapes, &mut Vec<u8>) -> ValueResult + Send + Sync + 'a>;

/// Escapes of `LOAD DATA … FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'`.
static LOAD_DATA_ESCAPES: Escapes = escapes(&[
    (b'\\', b'\\'),
    (b'\t', b't'),
    (b'\n', b'n'),
    (b'\r', b'r'),
    (0, b'0'),
]);
/// Escapes of a single-quoted SQL string literal (no NO_BACKSLASH_ESCAPES in the session).
static SQL_ESCAPES: Escapes = escapes(&[
    (b'\\', b'\\'),
    (b'\'', b'\''),
    (0, b'0'),
    (b'\n', b'n'),
    (b'\r', b'r'),
    (0x1a, b'Z'),
]);

const fn escapes(pairs: &[(u8, u8)]) -> Escapes {
    let mut table = [0; 256];
    let mut i = 0;
    while i < pairs.len() {
        table[pairs[i].0 as usize] = pairs[i].1;
        i += 1;
    }
    table
}

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// 838:59:59.999999, the bound of MySQL's TIME type either side of zero.
const MAX_TIME_MICROS: u64 = 3_020_399_999_999;

/// How a value is wrapped to make an SQL literal.
#[derive(Clone, Copy)]
enum Literal {
    /// Numbers: written bare.
    Bare,
    /// Text and temporal values: `'…'`.
    Quoted,
    /// Binary: `X'…'`.
    Hex,
}

/// One column of the batch, ready to write row by row.
struct ColumnEncoder<'a> {
    name: &'a str,
    /// Logical nulls (for dictionaries they include null values, for the Null type every row).
    nulls: Option<NullBuffer>,
    literal: Literal,
    write: WriteValue<'a>,
}

/// Per-batch encoder: one column encoder per field, built once per batch (arrays downcast once).
pub(crate) struct BatchEncoder<'a> {
    columns: Vec<ColumnEncoder<'a>>,
    num_rows: usize,
}

impl<'a> BatchEncoder<'a> {
    /// Resolves every column's writer; errors (naming the column) for types the target cannot store.
    pub fn new(batch: &'a RecordBatch) -> Result<Self> {
        let columns = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, array)| {
                let write = value_writer(array.as_ref()).ok_or_else(|| {
                    ConnectorError::Other(format!(
                        "column `{}`: Arrow type {} is not supported by the mysql target",
                        field.name(),
                        field.data_type()
                    ))
                })?;
                Ok(ColumnEncoder {
                    name: field.name(),
                    nulls: array.logical_nulls(),
                    literal: literal(field.data_type()),
                    write,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            columns,
            num_rows: batch.num_rows(),
        })
    }

    /// Appends rows `rows` as LOAD DATA text: fields separated by '\t', rows terminated by '\n',
    /// escape char '\\', NULL written as `\N`; binary columns as hex (see [`loads_as_hex`]).
    /// On error `out` is left as it was.
    pub fn load_data(&self, rows: Range<usize>, out: &mut Vec<u8>) -> Result<()> {
        self.write_rows::<false>(rows, out)
    }

    /// Appends rows as SQL tuples `(v1,v2),(v1,v2)` for `INSERT … VALUES` (for a session whose
    /// sql_mode has neither NO_BACKSLASH_ESCAPES nor ANSI_QUOTES, and whose character set is
    /// utf8mb4). An empty range appends nothing. On error `out` is left as it was.
    pub fn sql_values(&self, rows: Range<usize>, out: &mut Vec<u8>) -> Result<()> {
        self.write_rows::<true>(rows, out)
    }

    fn write_rows<const SQL: bool>(&self, rows: Range<usize>, out: &mut Vec<u8>) -> Result<()> {
        if rows.end > self.num_rows {
            return Err(ConnectorError::Other(format!(
                "rows {rows:?} are outside the batch of {} rows",
                self.num_rows
            )));
        }
        let escapes = if SQL {
            &SQL_ESCAPES
        } else {
            &LOAD_DATA_ESCAPES
        };
        let (separator, null) = if SQL {
            (b',', &b"NULL"[..])
        } else {
            (b'\t', &b"\\N"[..])
        };
        let initial_len = out.len();
        let first = rows.start;
        for row in rows {
            if SQL {
                if row != first {
                    out.push(b',');
                }
                out.push(b'(');
            }
            for (i, column) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(separator);
                }
                if column
                    .nulls
                    .as_ref()
                    .is_some_and(|nulls| nulls.is_null(row))
                {
                    out.extend_from_slice(null);
                    continue;
                }
                if SQL {
                    match column.literal {
                        Literal::Bare => {}
                        Literal::Quoted => out.push(b'\''),
                        Literal::Hex => out.extend_from_slice(b"X'"),
                    }
                }
                if let Err(message) = (column.write)(row, escapes, out) {
                    out.truncate(initial_len);
                    return Err(ConnectorError::Other(format!(
                        "column `{}`, row {row} of the batch: {message}",
                        column.name
                    )));
                }
                if SQL && !matches!(column.literal, Literal::Bare) {
                    out.push(b'\'');
                }
            }
            out.push(if SQL { b')' } else { b'\n' });
        }
        Ok(())
    }
}

/// Whether a column of this type is written as hex in LOAD DATA text (the statement then loads
/// it through a user variable: `(@c3) SET col = UNHEX(@c3)`).
pub(crate) fn loads_as_hex(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
}

/// How the values of a column are wrapped in an SQL literal.
fn literal(data_type: &DataType) -> Literal {
    match data_type {
        _ if loads_as_hex(data_type) => Literal::Hex,
        DataType::Null | DataType::Boolean => Literal::Bare,
        _ if data_type.is_numeric() => Literal::Bare,
        _ => Literal::Quoted,
    }
}

/// The writer of one column, or `None` when the target cannot store its type.
fn value_writer(array: &dyn Array) -> Option<WriteValue<'_>> {
    use TimeUnit::*;
    Some(match array.data_type() {
        DataType::Null => boxed(|_, _, _| Ok(())),
        DataType::Boolean => {
            let a = array.as_boolean();
            boxed(move |row, _, out| integer(u8::from(a.value(row)), out))
        }
        DataType::Int8 => primitive::<Int8Type, _>(array, integer),
        DataType::Int16 => primitive::<Int16Type, _>(array, integer),
        DataType::Int32 => primitive::<Int32Type, _>(array, integer),
        DataType::Int64 => primitive::<Int64Type, _>(array, integer),
        DataType::UInt8 => primitive::<UInt8Type, _>(array, integer),
        DataType::UInt16 => primitive::<UInt16Type, _>(array, integer),
        DataType::UInt32 => primitive::<UInt32Type, _>(array, integer),
        DataType::UInt64 => primitive::<UInt64Type, _>(array, integer),
        DataType::Float16 => primitive::<Float16Type, _>(array, |v, out| float(v.to_f32(), out)),
        DataType::Float32 => primitive::<Float32Type, _>(array, float),
        DataType::Float64 => primitive::<Float64Type, _>(array, float),
        &DataType::Decimal32(_, scale) => decimal::<Decimal32Type>(array, scale),
        &DataType::Decimal64(_, scale) => decimal::<Decimal64Type>(array, scale),
        &DataType::Decimal128(_, scale) => decimal::<Decimal128Type>(array, scale),
        &DataType::Decimal256(_, scale) => {
            primitive::<Decimal256Type, _>(array, move |v, out| decimal256(v, scale, out))
        }
        DataType::Date32 => primitive::<Date32Type, _>(array, |v, out| date(v.into(), out)),
        DataType::Date64 => primitive::<Date64Type, _>(array, date64),
        // A zoned timestamp holds the UTC instant, which is what the '+00:00' session stores.
        DataType::Timestamp(unit, _) => match unit {
            Second => micros::<TimestampSecondType, _>(array, Second, datetime),
            Millisecond => micros::<TimestampMillisecondType, _>(array, Millisecond, datetime),
            Microsecond => micros::<TimestampMicrosecondType, _>(array, Microsecond, datetime),
            Nanosecond => micros::<TimestampNanosecondType, _>(array, Nanosecond, datetime),
        },
        DataType::Time32(Second) => micros::<Time32SecondType, _>(array, Second, time),
        DataType::Time32(Millisecond) => {
            micros::<Time32MillisecondType, _>(array, Millisecond, time)
        }
        DataType::Time64(Microsecond) => {
            micros::<Time64MicrosecondType, _>(array, Microsecond, time)
        }
        DataType::Time64(Nanosecond) => micros::<Time64NanosecondType, _>(array, Nanosecond, time),
        DataType::Duration(unit) => match unit {
            Second => micros::<DurationSecondType, _>(array, Second, duration),
            Millisecond => micros::<DurationMillisecondType, _>(array, Millisecond, duration),
            Microsecond => micros::<DurationMicrosecondType, _>(array, Microsecond, duration),
            Nanosecond => micros::<DurationNanosecondType, _>(array, Nanosecond, duration),
        },
        DataType::Utf8 => text(array.as_string::<i32>()),
        DataType::LargeUtf8 => text(array.as_string::<i64>()),
        DataType::Utf8View => text(array.as_string_view()),
        DataType::Dictionary(_, value_type) => {
            let dictionary = array.as_any_dictionary();
            let values = dictionary.values();
            // `normalized_keys` asserts on empty values; then every key is null and never read.
            let keys = match values.is_empty() {
                true => Vec::new(),
                false => dictionary.normalized_keys(),
            };
            match value_type.as_ref() {
                DataType::Utf8 => dictionary_text(keys, values.as_string::<i32>()),
                DataType::LargeUtf8 => dictionary_text(keys, values.as_string::<i64>()),
                DataType::Utf8View => dictionary_text(keys, values.as_string_view()),
                _ => return None,
            }
        }
        DataType::Binary => hex(array.as_binary::<i32>()),
        DataType::LargeBinary => hex(array.as_binary::<i64>()),
        DataType::BinaryView => hex(array.as_binary_view()),
        DataType::FixedSizeBinary(_) => hex(array.as_fixed_size_binary()),
        _ => return None,
    })
}

/// Boxes a writer; the bound gives the closure its signature.
fn boxed<'a, W>(write: W) -> WriteValue<'a>
where
    W: Fn(usize, &Escapes, &mut Vec<u8>) -> ValueResult + Send + Sync + 'a,
{
    Box::new(write)
}

/// The writer of a primitive column that renders each value with `write`.
fn primitive<T, F>(array: &dyn Array, write: F) -> WriteValue<'_>
where
    T: ArrowPrimitiveType,
    F: Fn(T::Native, &mut Vec<u8>) -> ValueResult + Send + Sync + 'static,
{
    let a = array.as_primitive::<T>();
    boxed(move |row, _, out| write(a.value(row), out))
}

fn integer<I: itoa::Integer>(value: I, out: &mut Vec<u8>) -> ValueResult {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    Ok(())
}

/// Shortest text that reads back as the same `F` (an f32 stays an f32).
fn float<F: ryu::Float + Into<f64>>(value: F, out: &mut Vec<u8>) -> ValueResult {
    let wide: f64 = value.into();
    if !wide.is_finite() {
        return Err(format!(
            "{wide} cannot be stored in MySQL (no NaN or infinity)"
        ));
    }
    let mut text = ryu::Buffer::new();
    // ±f32::MAX's shortest text (3.4028235e38) read as a double exceeds FLT_MAX, which a FLOAT
    // column rejects as out of range; the double's own text reads back as the same f32.
    let text = match wide.abs() == f64::from(f32::MAX) {
        true => text.format_finite(wide),
        false => text.format_finite(value),
    };
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

fn decimal<T>(array: &dyn Array, scale: i8) -> WriteValue<'_>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    primitive::<T, _>(array, move |value, out| {
        let value: i128 = value.into();
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(value.unsigned_abs()).as_bytes();
        decimal_text(value < 0, digits, scale, out);
        Ok(())
    })
}

fn decimal256(value: i256, scale: i8, out: &mut Vec<u8>) -> ValueResult {
    let mut text = StackText {
        bytes: [0; 80],
        len: 0,
    };
    write!(text, "{value}").map_err(|_| format!("cannot format decimal {value}"))?;
    let (negative, digits) = match &text.bytes[..text.len] {
        [b'-', digits @ ..] => (true, digits),
        digits => (false, digits),
    };
    decimal_text(negative, digits, scale, out);
    Ok(())
}

/// Text of a number up to 80 bytes long, without a heap allocation (i256 has 77 digits at most).
struct StackText {
    bytes: [u8; 80],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `±digits × 10^-scale` exactly, with `scale` fraction digits.
fn decimal_text(negative: bool, digits: &[u8], scale: i8, out: &mut Vec<u8>) {
    if negative {
        out.push(b'-');
    }
    let Ok(scale) = usize::try_from(scale) else {
        out.extend_from_slice(digits);
        if digits != b"0" {
            out.resize(out.len() + usize::from(scale.unsigned_abs()), b'0');
        }
        return;
    };
    if digits.len() > scale {
        let (integer, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(integer);
        if scale > 0 {
            out.push(b'.');
            out.extend_from_slice(fraction);
        }
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

/// The writer of a time-based column: converts each value of `unit` to microseconds, then renders.
fn micros<T, R>(array: &dyn Array, unit: TimeUnit, render: R) -> WriteValue<'_>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
    R: Fn(i64, &mut Vec<u8>) -> ValueResult + Send + Sync + 'static,
{
    let factor = match unit {
        TimeUnit::Nanosecond => {
            return primitive::<T, _>(array, move |nanos, out| {
                let nanos: i64 = nanos.into();
                if nanos % 1_000 != 0 {
                    return Err(format!(
                        "{nanos} ns is not a whole number of microseconds (MySQL keeps microseconds)"
                    ));
                }
                render(nanos / 1_000, out)
            })
        }
        TimeUnit::Microsecond => {
            return primitive::<T, _>(array, move |v, out| render(v.into(), out))
        }
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Second => 1_000_000,
    };
    primitive::<T, _>(array, move |value, out| {
        let value: i64 = value.into();
        match value.checked_mul(factor) {
            Some(micros) => render(micros, out),
            None => Err(format!("{value} ({unit:?}) is out of range")),
        }
    })
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01, within MySQL's DATE range.
fn date(days: i64, out: &mut Vec<u8>) -> ValueResult {
    // 1000-01-01 and 9999-12-31 as days from 1970-01-01.
    const FIRST: i64 = -354_285;
    const LAST: i64 = 2_932_896;
    let out_of_range =
        || format!("day {days} from 1970-01-01 is outside MySQL's date range (years 1000 to 9999)");
    if !(FIRST..=LAST).contains(&days) {
        return Err(out_of_range());
    }
    // 719_163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
    let date = i32::try_from(days + 719_163)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(out_of_range)?;
    padded(out, date.year().unsigned_abs(), 4);
    out.push(b'-');
    padded(out, date.month(), 2);
    out.push(b'-');
    padded(out, date.day(), 2);
    Ok(())
}

fn date64(millis: i64, out: &mut Vec<u8>) -> ValueResult {
    const MILLIS_PER_DAY: i64 = 86_400_000;
    if millis % MILLIS_PER_DAY != 0 {
        return Err(format!(
            "Date64 {millis} ms is not a whole day (a DATE would drop the time)"
        ));
    }
    date(millis / MILLIS_PER_DAY, out)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` of microseconds from 1970-01-01 00:00:00.
fn datetime(micros: i64, out: &mut Vec<u8>) -> ValueResult {
    date(micros.div_euclid(MICROS_PER_DAY), out)?;
    out.push(b' ');
    clock(micros.rem_euclid(MICROS_PER_DAY).unsigned_abs(), out);
    Ok(())
}

/// `HH:MM:SS[.ffffff]` of a time of day in microseconds.
fn time(micros: i64, out: &mut Vec<u8>) -> ValueResult {
    if !(0..MICROS_PER_DAY).contains(&micros) {
        return Err(format!(
            "time of day {micros} µs is outside 00:00:00 to 23:59:59.999999"
        ));
    }
    clock(micros.unsigned_abs(), out);
    Ok(())
}

/// `[-]H:MM:SS[.ffffff]` of a duration in microseconds, within MySQL's TIME range.
fn duration(micros: i64, out: &mut Vec<u8>) -> ValueResult {
    if micros.unsigned_abs() > MAX_TIME_MICROS {
        return Err(format!(
            "duration {micros} µs is outside MySQL's TIME range (±838:59:59.999999)"
        ));
    }
    if micros < 0 {
        out.push(b'-');
    }
    clock(micros.unsigned_abs(), out);
    Ok(())
}

/// `H:MM:SS[.ffffff]`, hours padded to two digits and unbounded; the fraction only when not zero.
fn clock(micros: u64, out: &mut Vec<u8>) {
    let (seconds, fraction) = (micros / 1_000_000, micros % 1_000_000);
    let hours = seconds / 3600;
    if hours < 10 {
        out.push(b'0');
    }
    out.extend_from_slice(itoa::Buffer::new().format(hours).as_bytes());
    out.push(b':');
    padded(out, (seconds / 60 % 60) as u32, 2);
    out.push(b':');
    padded(out, (seconds % 60) as u32, 2);
    if fraction != 0 {
        out.push(b'.');
        padded(out, fraction as u32, 6);
    }
}

/// `value` in exactly `width` (≤ 6) decimal digits, zero-padded.
fn padded(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let mut digits = [b'0'; 6];
    for digit in digits[..width].iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

fn text<'a, A: ArrayAccessor<Item = &'a str> + 'a>(array: A) -> WriteValue<'a> {
    boxed(move |row, escapes, out| {
        escape(array.value(row).as_bytes(), escapes, out);
        Ok(())
    })
}

fn dictionary_text<'a, A>(keys: Vec<usize>, values: A) -> WriteValue<'a>
where
    A: ArrayAccessor<Item = &'a str> + 'a,
{
    boxed(move |row, escapes, out| {
        let key = *keys.get(row).ok_or("dictionary key out of range")?;
        escape(values.value(key).as_bytes(), escapes, out);
        Ok(())
    })
}

/// Copies `bytes`, putting a backslash and the table's letter in place of each byte to escape;
/// runs of plain bytes are copied whole.
fn escape(bytes: &[u8], escapes: &Escapes, out: &mut Vec<u8>) {
    let mut run_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let letter = escapes[usize::from(byte)];
        if letter != 0 {
            out.extend_from_slice(&bytes[run_start..i]);
            out.extend_from_slice(&[b'\\', letter]);
            run_start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[run_start..]);
}

fn hex<'a, A: ArrayAccessor<Item = &'a [u8]> + 'a>(array: A) -> WriteValue<'a> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    boxed(move |row, _, out| {
        let bytes = array.value(row);
        out.reserve(bytes.len() * 2);
        for &byte in bytes {
            out.extend_from_slice(&[
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 15)],
            ]);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::*;
    use arrow::datatypes::{i256, DataType, Int8Type, UInt32Type};

    use super::*;

    const EVERY_BYTE_HEX: &str = concat!(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f",
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
    );
    /// A text with every byte either dialect escapes, a quote, 0x1A and a 4-byte character.
    const TRICKY: &str = "a\tb\nc\\d\0e'f\rg\x1ah😀";

    /// Both dialects' text of rows `rows` of a batch.
    fn encode_rows(batch: &RecordBatch, rows: Range<usize>) -> (String, String) {
        let encoder = BatchEncoder::new(batch).unwrap();
        let (mut load, mut sql) = (Vec::new(), Vec::new());
        encoder.load_data(rows.clone(), &mut load).unwrap();
        encoder.sql_values(rows, &mut sql).unwrap();
        (
            String::from_utf8(load).unwrap(),
            String::from_utf8(sql).unwrap(),
        )
    }

    /// Asserts both dialects' text of a one-column batch (column `c0`).
    fn check(array: impl Array + 'static, load: &str, sql: &str) {
        let batch = batch(vec![Arc::new(array)]);
        assert_eq!(
            encode_rows(&batch, 0..batch.num_rows()),
            (load.into(), sql.into())
        );
    }

    /// The error of a one-column batch, the same in both dialects, which leave `out` untouched.
    fn error(array: impl Array + 'static) -> String {
        let batch = batch(vec![Arc::new(array)]);
        let encoder = BatchEncoder::new(&batch).unwrap();
        let mut out = b"kept".to_vec();
        let load = encoder
            .load_data(0..batch.num_rows(), &mut out)
            .unwrap_err()
            .to_string();
        let sql = encoder
            .sql_values(0..batch.num_rows(), &mut out)
            .unwrap_err()
            .to_string();
        assert_eq!((out.as_slice(), &load), (&b"kept"[..], &sql));
        load
    }

    /// A batch of the columns `c0`, `c1`, …
    fn batch(columns: Vec<ArrayRef>) -> RecordBatch {
        RecordBatch::try_from_iter(
            columns
                .into_iter()
                .enumerate()
                .map(|(i, c)| (format!("c{i}"), c)),
        )
        .unwrap()
    }

    #[test]
    fn integers_and_booleans() {
        let batch = batch(vec![
            Arc::new(Int8Array::from(vec![Some(i8::MIN), Some(i8::MAX), None])),
            Arc::new(Int16Array::from(vec![i16::MIN, i16::MAX, 0])),
            Arc::new(Int32Array::from(vec![i32::MIN, i32::MAX, -7])),
            Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
            Arc::new(UInt8Array::from(vec![0, u8::MAX, 1])),
            Arc::new(UInt16Array::from(vec![0, u16::MAX, 1])),
            Arc::new(UInt32Array::from(vec![0, u32::MAX, 1])),
            Arc::new(UInt64Array::from(vec![Some(0), Some(u64::MAX), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ]);
        assert_eq!(
            encode_rows(&batch, 0..3),
            (
                "-128\t-32768\t-2147483648\t-9223372036854775808\t0\t0\t0\t0\t1\n\
                 127\t32767\t2147483647\t9223372036854775807\t255\t65535\t4294967295\t18446744073709551615\t0\n\
                 \\N\t0\t-7\t\\N\t1\t1\t1\t\\N\t\\N\n"
                    .into(),
                "(-128,-32768,-2147483648,-9223372036854775808,0,0,0,0,1),\
                 (127,32767,2147483647,9223372036854775807,255,65535,4294967295,18446744073709551615,0),\
                 (NULL,0,-7,NULL,1,1,1,NULL,NULL)"
                    .into()
            )
        );
        // A sliced batch (offsets into its buffers) writes the same rows.
        assert_eq!(
            encode_rows(&batch.slice(1, 2), 0..2),
            encode_rows(&batch, 1..3)
        );
    }

    #[test]
    fn row_ranges_and_errors_name_column_and_row() {
        let amount = Float64Array::from(vec![0.5, -2.0, f64::NAN]);
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef),
            ("amount", Arc::new(amount)),
        ])
        .unwrap();
        assert_eq!(
            encode_rows(&batch, 1..2),
            ("2\t-2.0\n".into(), "(2,-2.0)".into())
        );
        assert_eq!(
            encode_rows(&batch, 0..2),
            ("1\t0.5\n2\t-2.0\n".into(), "(1,0.5),(2,-2.0)".into())
        );
        assert_eq!(encode_rows(&batch, 2..2), (String::new(), String::new()));
        let encoder = BatchEncoder::new(&batch).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            encoder.sql_values(1..3, &mut out).unwrap_err().to_string(),
            "column `amount`, row 2 of the batch: NaN cannot be stored in MySQL (no NaN or infinity)"
        );
        assert!(out.is_empty());
        assert_eq!(
            encoder.load_data(2..4, &mut out).unwrap_err().to_string(),
            "rows 2..4 are outside the batch of 3 rows"
        );
    }

    #[test]
    fn floats_round_trip_in_their_own_width() {
        let f64s = vec![
            Some(f64::MAX),
            Some(f64::MIN_POSITIVE),
            Some(-0.0),
            Some(5e-324),
            None,
        ];
        check(
            Float64Array::from(f64s),
            "1.7976931348623157e308\n2.2250738585072014e-308\n-0.0\n5e-324\n\\N\n",
            "(1.7976931348623157e308),(2.2250738585072014e-308),(-0.0),(5e-324),(NULL)",
        );
        check(
            Float32Array::from(vec![0.1, f32::MAX, -1e-45, -f32::MAX]),
            "0.1\n3.4028234663852886e38\n-1e-45\n-3.4028234663852886e38\n",
            "(0.1),(3.4028234663852886e38),(-1e-45),(-3.4028234663852886e38)",
        );
        let f16s = Float32Array::from(vec![0.1, 65504.0]);
        let f16s = arrow::compute::cast(&f16s, &DataType::Float16).unwrap();
        check(
            f16s.as_primitive::<Float16Type>().clone(),
            "0.099975586\n65504.0\n",
            "(0.099975586),(65504.0)",
        );
    }

    #[test]
    fn nan_and_infinity_are_errors() {
        assert_eq!(
            error(Float64Array::from(vec![1.0, f64::NAN])),
            "column `c0`, row 1 of the batch: NaN cannot be stored in MySQL (no NaN or infinity)"
        );
        assert_eq!(
            error(Float32Array::from(vec![f32::NEG_INFINITY])),
            "column `c0`, row 0 of the batch: -inf cannot be stored in MySQL (no NaN or infinity)"
        );
    }

    #[test]
    fn decimals_are_exact() {
        let max38 = 10_i128.pow(38) - 1;
        let values = vec![
            Some(max38),
            Some(-1),
            Some(-123_456_789_012_345_678),
            Some(0),
            None,
        ];
        check(
            Decimal128Array::from(values).with_precision_and_scale(38, 10).unwrap(),
            "9999999999999999999999999999.9999999999\n-0.0000000001\n-12345678.9012345678\n0.0000000000\n\\N\n",
            "(9999999999999999999999999999.9999999999),(-0.0000000001),(-12345678.9012345678),(0.0000000000),(NULL)",
        );
        check(
            Decimal128Array::from(vec![1_234_560, -5, -1])
                .with_precision_and_scale(7, 2)
                .unwrap(),
            "12345.60\n-0.05\n-0.01\n",
            "(12345.60),(-0.05),(-0.01)",
        );
        check(
            Decimal128Array::from(vec![123, 0, -4])
                .with_precision_and_scale(5, -2)
                .unwrap(),
            "12300\n0\n-400\n",
            "(12300),(0),(-400)",
        );
        check(
            Decimal32Array::from(vec![-1234])
                .with_precision_and_scale(9, 3)
                .unwrap(),
            "-1.234\n",
            "(-1.234)",
        );
        check(
            Decimal64Array::from(vec![12345])
                .with_precision_and_scale(18, 0)
                .unwrap(),
            "12345\n",
            "(12345)",
        );
        let max65: i256 = "99999999999999999999999999999999999999999999999999999999999999999"
            .parse()
            .unwrap();
        let values = vec![max65, i256::from_i128(-5), i256::ZERO];
        check(
            Decimal256Array::from(values)
                .with_precision_and_scale(65, 30)
                .unwrap(),
            "99999999999999999999999999999999999.999999999999999999999999999999\n\
             -0.000000000000000000000000000005\n0.000000000000000000000000000000\n",
            "(99999999999999999999999999999999999.999999999999999999999999999999),\
             (-0.000000000000000000000000000005),(0.000000000000000000000000000000)",
        );
        check(
            Decimal256Array::from(vec![i256::MIN])
                .with_precision_and_scale(76, 2)
                .unwrap(),
            "-578960446186580977117854925043439539266349923328202820197287920039565648199.68\n",
            "(-578960446186580977117854925043439539266349923328202820197287920039565648199.68)",
        );
    }

    #[test]
    fn dates_within_mysql_range() {
        check(
            Date32Array::from(vec![Some(-354_285), Some(2_932_896), Some(0), None]),
            "1000-01-01\n9999-12-31\n1970-01-01\n\\N\n",
            "('1000-01-01'),('9999-12-31'),('1970-01-01'),(NULL)",
        );
        check(
            Date64Array::from(vec![19_782 * 86_400_000]),
            "2024-02-29\n",
            "('2024-02-29')",
        );
        let outside = "column `c0`, row 0 of the batch: day -354286 from 1970-01-01 is outside MySQL's date range (years 1000 to 9999)";
        assert_eq!(error(Date32Array::from(vec![-354_286])), outside);
        assert!(error(Date32Array::from(vec![2_932_897])).contains("day 2932897 from"));
        assert_eq!(
            error(Date64Array::from(vec![86_400_001])),
            "column `c0`, row 0 of the batch: Date64 86400001 ms is not a whole day (a DATE would drop the time)"
        );
    }

    #[test]
    fn timestamps_naive_and_zoned() {
        check(
            TimestampMicrosecondArray::from(vec![Some(1_704_164_645_000_006), Some(-1), Some(0), None]),
            "2024-01-02 03:04:05.000006\n1969-12-31 23:59:59.999999\n1970-01-01 00:00:00\n\\N\n",
            "('2024-01-02 03:04:05.000006'),('1969-12-31 23:59:59.999999'),('1970-01-01 00:00:00'),(NULL)",
        );
        check(
            TimestampSecondArray::from(vec![253_402_300_799]),
            "9999-12-31 23:59:59\n",
            "('9999-12-31 23:59:59')",
        );
        check(
            TimestampMillisecondArray::from(vec![1_500]),
            "1970-01-01 00:00:01.500000\n",
            "('1970-01-01 00:00:01.500000')",
        );
        check(
            TimestampNanosecondArray::from(vec![-1_000]),
            "1969-12-31 23:59:59.999999\n",
            "('1969-12-31 23:59:59.999999')",
        );
        // Zoned values are instants; the target stores them in UTC.
        let paris = chrono::DateTime::parse_from_rfc3339("2024-06-01T12:00:00+02:00").unwrap();
        let kolkata = chrono::DateTime::parse_from_rfc3339("2024-06-01T00:15:00.25+05:30").unwrap();
        check(
            TimestampMicrosecondArray::from(vec![paris.timestamp_micros()])
                .with_timezone("Europe/Paris"),
            "2024-06-01 10:00:00\n",
            "('2024-06-01 10:00:00')",
        );
        check(
            TimestampMillisecondArray::from(vec![kolkata.timestamp_millis()])
                .with_timezone("+05:30"),
            "2024-05-31 18:45:00.250000\n",
            "('2024-05-31 18:45:00.250000')",
        );
    }

    #[test]
    fn timestamp_errors() {
        assert_eq!(
            error(TimestampNanosecondArray::from(vec![0, 1_500])),
            "column `c0`, row 1 of the batch: 1500 ns is not a whole number of microseconds (MySQL keeps microseconds)"
        );
        assert!(error(TimestampSecondArray::from(vec![-30_610_224_001]))
            .contains("outside MySQL's date range"));
        assert_eq!(
            error(TimestampSecondArray::from(vec![i64::MAX])),
            "column `c0`, row 0 of the batch: 9223372036854775807 (Second) is out of range"
        );
    }

    #[test]
    fn times_of_day() {
        check(
            Time32SecondArray::from(vec![0, 86_399]),
            "00:00:00\n23:59:59\n",
            "('00:00:00'),('23:59:59')",
        );
        check(
            Time32MillisecondArray::from(vec![45_296_789]),
            "12:34:56.789000\n",
            "('12:34:56.789000')",
        );
        check(
            Time64MicrosecondArray::from(vec![86_399_999_999]),
            "23:59:59.999999\n",
            "('23:59:59.999999')",
        );
        check(
            Time64NanosecondArray::from(vec![Some(1_000), None]),
            "00:00:00.000001\n\\N\n",
            "('00:00:00.000001'),(NULL)",
        );
        assert!(error(Time64NanosecondArray::from(vec![86_400_000_000_000]))
            .contains("outside 00:00:00"));
        assert!(error(Time64NanosecondArray::from(vec![1])).contains("1 ns is not a whole number"));
    }

    #[test]
    fn durations_within_mysql_time_range() {
        let max = 3_020_399_999_999;
        check(
            DurationMicrosecondArray::from(vec![360_061_500_000, -1, max, -max]),
            "100:01:01.500000\n-00:00:00.000001\n838:59:59.999999\n-838:59:59.999999\n",
            "('100:01:01.500000'),('-00:00:00.000001'),('838:59:59.999999'),('-838:59:59.999999')",
        );
        check(
            DurationSecondArray::from(vec![-90_061]),
            "-25:01:01\n",
            "('-25:01:01')",
        );
        check(
            DurationMillisecondArray::from(vec![5]),
            "00:00:00.005000\n",
            "('00:00:00.005000')",
        );
        check(
            DurationNanosecondArray::from(vec![7_000]),
            "00:00:00.000007\n",
            "('00:00:00.000007')",
        );
        assert_eq!(
            error(DurationMicrosecondArray::from(vec![-max - 1])),
            "column `c0`, row 0 of the batch: duration -3020400000000 µs is outside MySQL's TIME range (±838:59:59.999999)"
        );
        assert!(
            error(DurationNanosecondArray::from(vec![1_234])).contains("1234 ns is not a whole")
        );
    }

    #[test]
    fn text_in_every_string_layout() {
        let load = "a\\tb\\nc\\\\d\\0e'f\\rg\x1ah😀\n\\\\N\n\n\\N\n";
        let sql = "('a\tb\\nc\\\\d\\0e\\'f\\rg\\Zh😀'),('\\\\N'),(''),(NULL)";
        let values = vec![Some(TRICKY), Some("\\N"), Some(""), None];
        check(StringArray::from(values.clone()), load, sql);
        check(LargeStringArray::from(values.clone()), load, sql);
        check(StringViewArray::from(values.clone()), load, sql);
        check(
            values
                .iter()
                .copied()
                .collect::<DictionaryArray<Int8Type>>(),
            load,
            sql,
        );
        // A null dictionary value (not a null key) is NULL too.
        let keys = UInt32Array::from(vec![0, 1, 2, 3]);
        let dictionary =
            DictionaryArray::<UInt32Type>::try_new(keys, Arc::new(LargeStringArray::from(values)));
        check(dictionary.unwrap(), load, sql);
    }

    #[test]
    fn binary_as_hex() {
        let every_byte: Vec<u8> = (0..=255).collect();
        let values = vec![Some(&every_byte[..]), Some(&[][..]), None];
        let load = format!("{EVERY_BYTE_HEX}\n\n\\N\n");
        let sql = format!("(X'{EVERY_BYTE_HEX}'),(X''),(NULL)");
        check(BinaryArray::from(values.clone()), &load, &sql);
        check(LargeBinaryArray::from(values.clone()), &load, &sql);
        check(BinaryViewArray::from(values), &load, &sql);
        let fixed = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            vec![Some([0x00, 0xff]), Some([0x1a, 0x27]), None].into_iter(),
            2,
        );
        check(
            fixed.unwrap(),
            "00ff\n1a27\n\\N\n",
            "(X'00ff'),(X'1a27'),(NULL)",
        );
        assert!(
            loads_as_hex(&DataType::FixedSizeBinary(16)) && loads_as_hex(&DataType::BinaryView)
        );
        assert!(!loads_as_hex(&DataType::Utf8) && !loads_as_hex(&DataType::Int64));
    }

    #[test]
    fn null_type_is_always_null() {
        check(NullArray::new(2), "\\N\n\\N\n", "(NULL),(NULL)");
    }

    #[test]
    fn unsupported_types_name_the_column() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        let batch = RecordBatch::try_from_iter([("tags", Arc::new(list) as ArrayRef)]).unwrap();
        let message = BatchEncoder::new(&batch).err().unwrap().to_string();
        assert!(
            message.starts_with("column `tags`: Arrow type List("),
            "{message}"
        );
        assert!(
            message.ends_with(") is not supported by the mysql target"),
            "{message}"
        );
        let interval = IntervalYearMonthArray::from(vec![1]);
        let batch = RecordBatch::try_from_iter([("gap", Arc::new(interval) as ArrayRef)]).unwrap();
        assert_eq!(
            BatchEncoder::new(&batch).err().unwrap().to_string(),
            "column `gap`: Arrow type Interval(YearMonth) is not supported by the mysql target"
        );
    }

    /// `cargo test --release -p fastlane-connectors --lib encode -- --ignored --nocapture`
    #[test]
    #[ignore = "throughput printout, not a check"]
    fn throughput_of_a_million_rows() {
        let n = 1_000_000_i64;
        let amounts = Decimal128Array::from_iter_values((0..n).map(i128::from));
        let batch = batch(vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 / 7.0),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("name\t{i}")),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                (0..n).map(|i| i * 1_000_003),
            )),
            Arc::new(amounts.with_precision_and_scale(12, 2).unwrap()),
        ]);
        let encoder = BatchEncoder::new(&batch).unwrap();
        for (dialect, sql) in [("LOAD DATA", false), ("VALUES", true)] {
            let mut out = Vec::with_capacity(64 << 20);
            let start = std::time::Instant::now();
            let rows = 0..batch.num_rows();
            match sql {
                true => encoder.sql_values(rows, &mut out).unwrap(),
                false => encoder.load_data(rows, &mut out).unwrap(),
            }
            let (megabytes, elapsed) = (out.len() >> 20, start.elapsed());
            println!("{dialect}: {n} rows, {megabytes} MiB in {elapsed:?}");
        }
    }
}
