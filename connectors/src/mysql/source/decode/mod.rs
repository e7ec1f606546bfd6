//! Turns rows read with MySQL's binary protocol (prepared statements) into Arrow RecordBatches.
//!
//! Each column gets a typed builder chosen once from its Arrow type; a row's values are appended
//! straight into the builders, without an intermediate `String` or allocation per value.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, Date32Builder, Decimal128Builder, Decimal256Builder,
    DurationMicrosecondBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, Int8Builder, RecordBatch, RecordBatchOptions, StringBuilder,
    TimestampMicrosecondBuilder, UInt16Builder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow::compute::kernels::cast_utils::parse_decimal;
use arrow::datatypes::{
    DataType, Decimal128Type, Decimal256Type, DecimalType, SchemaRef, TimeUnit,
};
use arrow::error::ArrowError;
use chrono::{Datelike, NaiveDate};
use mysql_async::Value;

use crate::{ConnectorError, Result};

/// Bytes reserved per row for a string or binary column's first batch; later batches reserve
/// the previous one's bytes per row, with some slack.
const BYTES_PER_ROW_HINT: usize = 16;
/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;
const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Accumulates rows into one RecordBatch of the given schema.
pub(crate) struct BatchDecoder {
    schema: SchemaRef,
    columns: Vec<Column>,
    key_index: usize,
    capacity: usize,
    rows: usize,
    /// Set when `push_row` failed part-way through a row: the builders no longer line up.
    broken: bool,
}

impl BatchDecoder {
    /// `schema`: the Arrow schema the source mapped the columns to; `key_index`: position of the
    /// key column, used to name the row in errors. Errors for unsupported types.
    pub fn new(schema: SchemaRef, key_index: usize, capacity: usize) -> Result<Self> {
        if key_index >= schema.fields().len() {
            return Err(ConnectorError::Other(format!(
                "key column index {key_index} is outside the {} columns",
                schema.fields().len()
            )));
        }
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let builder =
                    ColumnBuilder::new(field.data_type(), capacity, capacity * BYTES_PER_ROW_HINT)
                        .map_err(|message| {
                            ConnectorError::Other(format!("column `{}`: {message}", field.name()))
                        })?;
                Ok(Column {
                    nullable: field.is_nullable(),
                    builder,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            schema,
            columns,
            key_index,
            capacity,
            rows: 0,
            broken: false,
        })
    }

    /// Append one row (values in schema order; `None` and `Some(Value::NULL)` are both NULL).
    /// After an error the rows of the current batch are lost: `finish` reports it and resets.
    pub fn push_row(&mut self, row: Vec<Option<Value>>) -> Result<()> {
        if self.broken {
            return Err(ConnectorError::Other(BROKEN.into()));
        }
        if row.len() != self.columns.len() {
            return Err(ConnectorError::Other(format!(
                "a row has {} values, the schema {} columns",
                row.len(),
                self.columns.len()
            )));
        }
        for (index, (column, value)) in self.columns.iter_mut().zip(&row).enumerate() {
            if let Err(fault) = column.append(value.as_ref()) {
                self.broken = true;
                return Err(self.error(index, &row, fault));
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows appended since the last `finish`.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// The batch of the rows appended so far; the decoder is empty and reusable afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (column, field) in self.columns.iter_mut().zip(self.schema.fields()) {
            // Text and binary bytes of the next batch: this batch's bytes per row, plus 1/8 of
            // slack (a builder that runs out doubles its buffer, and the batch keeps it).
            let per_row = match rows {
                0 => BYTES_PER_ROW_HINT,
                n => column.builder.value_bytes().div_ceil(n),
            };
            let bytes = per_row * self.capacity / 8 * 9 + 64;
            let fresh = ColumnBuilder::new(field.data_type(), self.capacity, bytes)
                .map_err(ConnectorError::Other)?;
            arrays.push(std::mem::replace(&mut column.builder, fresh).finish());
        }
        if std::mem::take(&mut self.broken) {
            return Err(ConnectorError::Other(BROKEN.into()));
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options).map_err(|source| {
            ConnectorError::Arrow {
                context: "building a batch of MySQL rows".into(),
                source,
            }
        })
    }

    /// The error for `fault` in column `index` of `row` (the cold path; allocating is fine).
    fn error(&self, index: usize, row: &[Option<Value>], fault: Fault) -> ConnectorError {
        let field = &self.schema.fields()[index];
        let value = row[index].as_ref().unwrap_or(&Value::NULL);
        let data_type = field.data_type();
        let problem = match fault {
            Fault::NotNullable => "NULL in a column that is not nullable".to_string(),
            Fault::Unsupported => format!(
                "cannot store the MySQL {} value {} as Arrow {data_type}",
                variant(value),
                show(value)
            ),
            Fault::OutOfRange => format!("{} is out of range for Arrow {data_type}", show(value)),
            Fault::Inexact => format!(
                "{} cannot be stored exactly as Arrow {data_type}",
                show(value)
            ),
            Fault::ZeroDate => format!(
                "the zero date cannot be represented as Arrow {data_type} (MySQL value {})",
                show(value)
            ),
            Fault::InvalidDate => format!("{} is not a valid date or time", show(value)),
            Fault::InvalidUtf8 => match value {
                Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
                    Err(e) => format!("the text is not valid UTF-8 ({e})"),
                    Ok(_) => "the text is not valid UTF-8".into(),
                },
                _ => "the text is not valid UTF-8".into(),
            },
            Fault::Decimal(ArrowError::ParseError(message)) => message,
            Fault::Decimal(e) => e.to_string(),
        };
        let key = show(row[self.key_index].as_ref().unwrap_or(&Value::NULL));
        ConnectorError::Other(format!(
            "column `{}` of the row with key {key}: {problem}",
            field.name()
        ))
    }
}

const BROKEN: &str = "the rows of this batch were dropped after an earlier decoding error";

/// One column of the batch being built.
struct Column {
    nullable: bool,
    builder: ColumnBuilder,
}

impl Column {
    /// Appends one value; NULL (`None` or `Value::NULL`) only if the column is nullable.
    #[inline]
    fn append(&mut self, value: Option<&Value>) -> Result<(), Fault> {
        match value {
            None | Some(Value::NULL) if self.nullable => {
                self.builder.append_null();
                Ok(())
            }
            None | Some(Value::NULL) => Err(Fault::NotNullable),
            Some(value) => self.builder.append(value),
        }
    }
}

/// Why a value could not be appended; turned into a message naming column and row.
enum Fault {
    NotNullable,
    Unsupported,
    OutOfRange,
    Inexact,
    ZeroDate,
    InvalidDate,
    InvalidUtf8,
    Decimal(ArrowError),
}

/// A typed Arrow builder, chosen once per column from the field's type.
enum ColumnBuilder {
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    UInt8(UInt8Builder),
    UInt16(UInt16Builder),
    UInt32(UInt32Builder),
    /// BIGINT UNSIGNED, and BIT(n) (sent as big-endian bytes).
    UInt64(UInt64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal128 {
        builder: Decimal128Builder,
        precision: u8,
        scale: i8,
    },
    Decimal256 {
        builder: Decimal256Builder,
        precision: u8,
        scale: i8,
    },
    Date32(Date32Builder),
    /// DATETIME (no time zone) and TIMESTAMP (UTC, the session's time zone).
    Timestamp(TimestampMicrosecondBuilder),
    Duration(DurationMicrosecondBuilder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
}

/// Runs `$body` with `$b` bound to the typed builder of any [`ColumnBuilder`] variant.
macro_rules! each_builder {
    ($builder:expr, $b:ident => $body:expr) => {
        match $builder {
            ColumnBuilder::Int8($b) => $body,
            ColumnBuilder::Int16($b) => $body,
            ColumnBuilder::Int32($b) => $body,
            ColumnBuilder::Int64($b) => $body,
            ColumnBuilder::UInt8($b) => $body,
            ColumnBuilder::UInt16($b) => $body,
            ColumnBuilder::UInt32($b) => $body,
            ColumnBuilder::UInt64($b) => $body,
            ColumnBuilder::Float32($b) => $body,
            ColumnBuilder::Float64($b) => $body,
            ColumnBuilder::Decimal128 { builder: $b, .. } => $body,
            ColumnBuilder::Decimal256 { builder: $b, .. } => $body,
            ColumnBuilder::Date32($b) => $body,
            ColumnBuilder::Timestamp($b) => $body,
            ColumnBuilder::Duration($b) => $body,
            ColumnBuilder::Utf8($b) => $body,
            ColumnBuilder::Binary($b) => $body,
        }
    };
}

impl ColumnBuilder {
    /// An empty builder for `data_type` with room for `rows` rows (and `bytes` bytes of text or
    /// binary); the message says why the type is not supported.
    fn new(data_type: &DataType, rows: usize, bytes: usize) -> Result<Self, String> {
        let decimal_error = |e: ArrowError| format!("Arrow type {data_type}: {e}");
        Ok(match data_type {
            DataType::Int8 => Self::Int8(Int8Builder::with_capacity(rows)),
            DataType::Int16 => Self::Int16(Int16Builder::with_capacity(rows)),
            DataType::Int32 => Self::Int32(Int32Builder::with_capacity(rows)),
            DataType::Int64 => Self::Int64(Int64Builder::with_capacity(rows)),
            DataType::UInt8 => Self::UInt8(UInt8Builder::with_capacity(rows)),
            DataType::UInt16 => Self::UInt16(UInt16Builder::with_capacity(rows)),
            DataType::UInt32 => Self::UInt32(UInt32Builder::with_capacity(rows)),
            DataType::UInt64 => Self::UInt64(UInt64Builder::with_capacity(rows)),
            DataType::Float32 => Self::Float32(Float32Builder::with_capacity(rows)),
            DataType::Float64 => Self::Float64(Float64Builder::with_capacity(rows)),
            &DataType::Decimal128(precision, scale) => Self::Decimal128 {
                builder: Decimal128Builder::with_capacity(rows)
                    .with_precision_and_scale(precision, scale)
                    .map_err(decimal_error)?,
                precision,
                scale,
            },
            &DataType::Decimal256(precision, scale) => Self::Decimal256 {
                builder: Decimal256Builder::with_capacity(rows)
                    .with_precision_and_scale(precision, scale)
                    .map_err(decimal_error)?,
                precision,
                scale,
            },
            DataType::Date32 => Self::Date32(Date32Builder::with_capacity(rows)),
            DataType::Timestamp(TimeUnit::Microsecond, tz) => Self::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone_opt(tz.clone()),
            ),
            DataType::Duration(TimeUnit::Microsecond) => {
                Self::Duration(DurationMicrosecondBuilder::with_capacity(rows))
            }
            DataType::Utf8 => Self::Utf8(StringBuilder::with_capacity(rows, bytes)),
            DataType::Binary => Self::Binary(BinaryBuilder::with_capacity(rows, bytes)),
            other => return Err(format!("Arrow type {other} is not supported for MySQL")),
        })
    }

    /// Appends a NULL.
    fn append_null(&mut self) {
        each_builder!(self, b => b.append_null())
    }

    /// Appends a non-NULL value, or appends nothing and says why it does not fit.
    fn append(&mut self, value: &Value) -> Result<(), Fault> {
        match self {
            Self::Int8(b) => b.append_value(integer(value)?),
            Self::Int16(b) => b.append_value(integer(value)?),
            Self::Int32(b) => b.append_value(integer(value)?),
            Self::Int64(b) => b.append_value(integer(value)?),
            Self::UInt8(b) => b.append_value(integer(value)?),
            Self::UInt16(b) => b.append_value(integer(value)?),
            Self::UInt32(b) => b.append_value(integer(value)?),
            Self::UInt64(b) => match value {
                Value::Bytes(bits) if (1..=8).contains(&bits.len()) => {
                    let mut be = [0u8; 8];
                    be[8 - bits.len()..].copy_from_slice(bits);
                    b.append_value(u64::from_be_bytes(be));
                }
                _ => b.append_value(integer(value)?),
            },
            Self::Float32(b) => match *value {
                Value::Float(f) => b.append_value(f),
                // `as` rounds; keep the value only if the round trip is exact.
                Value::Double(d) if d.is_nan() || f64::from(d as f32) == d => {
                    b.append_value(d as f32)
                }
                Value::Double(_) => return Err(Fault::Inexact),
                _ => return Err(Fault::Unsupported),
            },
            Self::Float64(b) => match *value {
                Value::Double(d) => b.append_value(d),
                Value::Float(f) => b.append_value(f64::from(f)),
                _ => return Err(Fault::Unsupported),
            },
            Self::Decimal128 {
                builder,
                precision,
                scale,
            } => {
                let Value::Bytes(text) = value else {
                    return Err(Fault::Unsupported);
                };
                let unscaled = match decimal128_fast(text, *precision, *scale) {
                    Some(unscaled) => unscaled,
                    None => decimal_fallback::<Decimal128Type>(text, *precision, *scale)?,
                };
                builder.append_value(unscaled);
            }
            Self::Decimal256 {
                builder,
                precision,
                scale,
            } => {
                let Value::Bytes(text) = value else {
                    return Err(Fault::Unsupported);
                };
                builder.append_value(decimal_fallback::<Decimal256Type>(
                    text, *precision, *scale,
                )?);
            }
            Self::Date32(b) => match *value {
                Value::Date(y, m, d, 0, 0, 0, 0) => b.append_value(epoch_days(y, m, d)?),
                Value::Date(..) => return Err(Fault::Inexact),
                _ => return Err(Fault::Unsupported),
            },
            Self::Timestamp(b) => {
                let Value::Date(y, m, d, h, mi, s, us) = *value else {
                    return Err(Fault::Unsupported);
                };
                if h >= 24 || mi >= 60 || s >= 60 || i64::from(us) >= MICROS_PER_SECOND {
                    return Err(Fault::InvalidDate);
                }
                let seconds = i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
                let day = i64::from(epoch_days(y, m, d)?) * MICROS_PER_DAY;
                b.append_value(day + seconds * MICROS_PER_SECOND + i64::from(us));
            }
            Self::Duration(b) => {
                let Value::Time(negative, days, h, mi, s, us) = *value else {
                    return Err(Fault::Unsupported);
                };
                let seconds = (i64::from(days) * 24 + i64::from(h)) * 3600
                    + i64::from(mi) * 60
                    + i64::from(s);
                let micros = seconds
                    .checked_mul(MICROS_PER_SECOND)
                    .and_then(|m| m.checked_add(i64::from(us)))
                    .ok_or(Fault::OutOfRange)?;
                b.append_value(if negative { -micros } else { micros });
            }
            Self::Utf8(b) => {
                let Value::Bytes(bytes) = value else {
                    return Err(Fault::Unsupported);
                };
                b.append_value(simdutf8::basic::from_utf8(bytes).map_err(|_| Fault::InvalidUtf8)?);
            }
            Self::Binary(b) => {
                let Value::Bytes(bytes) = value else {
                    return Err(Fault::Unsupported);
                };
                b.append_value(bytes);
            }
        }
        Ok(())
    }

    /// Bytes of text or binary data held (0 for fixed-width columns).
    fn value_bytes(&self) -> usize {
        match self {
            Self::Utf8(b) => b.values_slice().len(),
            Self::Binary(b) => b.values_slice().len(),
            _ => 0,
        }
    }

    /// The array of the values appended.
    fn finish(mut self) -> ArrayRef {
        each_builder!(&mut self, b => Arc::new(b.finish()))
    }
}

/// A MySQL integer (signed or unsigned) as `T`, if it is in range.
#[inline]
fn integer<T: TryFrom<i64> + TryFrom<u64>>(value: &Value) -> Result<T, Fault> {
    match *value {
        Value::Int(v) => T::try_from(v).map_err(|_| Fault::OutOfRange),
        Value::UInt(v) => T::try_from(v).map_err(|_| Fault::OutOfRange),
        _ => Err(Fault::Unsupported),
    }
}

/// Days since 1970-01-01 of a MySQL date; the zero date (and zero month or day, which MySQL
/// allows without NO_ZERO_IN_DATE) has no Arrow equivalent.
#[inline]
fn epoch_days(year: u16, month: u8, day: u8) -> Result<i32, Fault> {
    if month == 0 || day == 0 {
        return Err(Fault::ZeroDate);
    }
    let date = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
        .ok_or(Fault::InvalidDate)?;
    Ok(date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

/// `10^i` for every digit count of a Decimal128.
const POW10: [i128; 39] = {
    let mut table = [1i128; 39];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// The unscaled value of MySQL's decimal text (`-123.40`: optional `-`, digits, optionally `.`
/// and at most `scale` digits) if it fits `precision`; `None` for anything else, which is left
/// to [`decimal_fallback`] to parse or explain.
#[inline]
fn decimal128_fast(text: &[u8], precision: u8, scale: i8) -> Option<i128> {
    let scale = usize::try_from(scale).ok()?;
    let (negative, unsigned) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    let (int_part, frac_part) = match unsigned.iter().position(|&b| b == b'.') {
        Some(dot) => (&unsigned[..dot], &unsigned[dot + 1..]),
        None => (unsigned, &[][..]),
    };
    if int_part.is_empty() {
        return None;
    }
    let leading_zeros = int_part.iter().take_while(|&&b| b == b'0').count();
    let int_part = &int_part[leading_zeros..];
    // With at most `precision` (≤ 38) digits the value fits an i128 and the precision.
    if frac_part.len() > scale || int_part.len() + scale > usize::from(precision) {
        return None;
    }
    // Digits go through a u64 in chunks of 18: an i128 multiply per digit is slower.
    let mut value = 0i128;
    let mut chunk = 0u64;
    let mut chunk_len = 0;
    for &b in int_part.iter().chain(frac_part) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        chunk = chunk * 10 + u64::from(digit);
        chunk_len += 1;
        if chunk_len == 18 {
            value = value * POW10[18] + i128::from(chunk);
            (chunk, chunk_len) = (0, 0);
        }
    }
    value = (value * POW10[chunk_len] + i128::from(chunk)) * POW10[scale - frac_part.len()];
    Some(if negative { -value } else { value })
}

/// Decimal text parsed by arrow, refusing to round away non-zero fraction digits beyond the
/// scale; arrow checks the syntax and the precision.
fn decimal_fallback<T: DecimalType>(
    text: &[u8],
    precision: u8,
    scale: i8,
) -> Result<T::Native, Fault> {
    let not_text = || Fault::Decimal(ArrowError::ParseError("not a decimal number".into()));
    let text = simdutf8::basic::from_utf8(text).map_err(|_| not_text())?;
    if let Some(dot) = text.find('.') {
        let fraction = text[dot + 1..].bytes().take_while(u8::is_ascii_digit);
        let kept = usize::try_from(scale).unwrap_or(0);
        if fraction.skip(kept).any(|b| b != b'0') {
            return Err(Fault::Inexact);
        }
    }
    parse_decimal::<T>(text, precision, scale).map_err(Fault::Decimal)
}

/// The name of a value's variant, for error messages.
fn variant(value: &Value) -> &'static str {
    match value {
        Value::NULL => "NULL",
        Value::Bytes(_) => "Bytes",
        Value::Int(_) => "Int",
        Value::UInt(_) => "UInt",
        Value::Float(_) => "Float",
        Value::Double(_) => "Double",
        Value::Date(..) => "Date",
        Value::Time(..) => "Time",
    }
}

/// A value as shown in error messages: text quoted and cut at 64 bytes, other bytes in hex.
fn show(value: &Value) -> String {
    match value {
        Value::NULL => "NULL".into(),
        Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if !text.contains(char::is_control) && text.len() <= 64 => format!("{text:?}"),
            Ok(text) if !text.contains(char::is_control) => {
                let cut = (0..=64)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                format!("{:?}… ({} bytes)", &text[..cut], bytes.len())
            }
            _ => {
                let hex: String = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
                let more = if bytes.len() > 32 { "…" } else { "" };
                format!("0x{hex}{more} ({} bytes)", bytes.len())
            }
        },
        Value::Int(v) => v.to_string(),
        Value::UInt(v) => v.to_string(),
        Value::Float(v) => v.to_string(),
        Value::Double(v) => v.to_string(),
        Value::Date(y, m, d, h, mi, s, us) => {
            format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }
        Value::Time(negative, days, h, mi, s, us) => {
            let sign = if *negative { "-" } else { "" };
            format!("{sign}{days}d {h:02}:{mi:02}:{s:02}.{us:06}")
        }
    }
}

#[cfg(test)]
mod tests;
