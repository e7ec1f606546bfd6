//! Arrow record batches → the text the MySQL/MariaDB target loads: `LOAD DATA` rows or the
//! tuples of an `INSERT … VALUES`.
//!
//! Each column's type is resolved once per batch into a [`WriteValue`] closure over the downcast
//! array; the row loop then appends every value straight into one output buffer.

use crate::decimal_text::decimal_text;
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
mod tests;
