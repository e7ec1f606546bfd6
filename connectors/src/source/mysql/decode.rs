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
/// what the previous one used.
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
            let bytes = column.builder.value_bytes().max(self.capacity);
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
mod tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{
        i256, ArrowPrimitiveType, Date32Type, Decimal128Type as D128, DurationMicrosecondType,
        Field, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Schema,
        TimestampMicrosecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
    };

    use super::*;

    const MICRO: DataType = DataType::Duration(TimeUnit::Microsecond);
    const DATETIME: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

    /// A decoder over an `id` key column (Int64, first) and `value` columns of `types`.
    fn decoder(types: &[DataType], nullable: bool) -> BatchDecoder {
        let mut fields = vec![Field::new("id", DataType::Int64, false)];
        fields.extend(
            types
                .iter()
                .map(|t| Field::new("amount", t.clone(), nullable)),
        );
        BatchDecoder::new(Arc::new(Schema::new(fields)), 0, 4).unwrap()
    }

    /// The row `(id, value)`.
    fn row(id: i64, value: Option<Value>) -> Vec<Option<Value>> {
        vec![Some(Value::Int(id)), value]
    }

    /// One nullable column of `data_type` decoded from `values`, one row each.
    fn column(data_type: DataType, values: Vec<Value>) -> ArrayRef {
        let mut decoder = decoder(&[data_type], true);
        for (id, value) in (0..).zip(values) {
            decoder.push_row(row(id, Some(value))).unwrap();
        }
        decoder.finish().unwrap().column(1).clone()
    }

    /// The primitive values of [`column`].
    fn decoded<T: ArrowPrimitiveType>(data_type: DataType, values: Vec<Value>) -> Vec<T::Native> {
        column(data_type, values)
            .as_primitive::<T>()
            .values()
            .to_vec()
    }

    fn text(text: &str) -> Value {
        Value::Bytes(text.as_bytes().to_vec())
    }

    fn date(y: u16, m: u8, d: u8) -> Value {
        Value::Date(y, m, d, 0, 0, 0, 0)
    }

    #[test]
    fn integers_take_int_and_uint_in_range() {
        use Value::{Int, UInt};
        let i8s = decoded::<Int8Type>(DataType::Int8, vec![Int(-128), Int(127), UInt(5)]);
        assert_eq!(i8s, [i8::MIN, i8::MAX, 5]);
        assert_eq!(
            decoded::<Int16Type>(DataType::Int16, vec![Int(-32768)]),
            [i16::MIN]
        );
        assert_eq!(
            decoded::<Int32Type>(DataType::Int32, vec![Int(i32::MAX.into())]),
            [i32::MAX]
        );
        let i64s =
            decoded::<Int64Type>(DataType::Int64, vec![Int(i64::MIN), UInt(i64::MAX as u64)]);
        assert_eq!(i64s, [i64::MIN, i64::MAX]);
        assert_eq!(
            decoded::<UInt8Type>(DataType::UInt8, vec![UInt(255), Int(0)]),
            [255, 0]
        );
        // YEAR arrives as Int.
        let years = decoded::<UInt16Type>(DataType::UInt16, vec![Int(1901), Int(2155)]);
        assert_eq!(years, [1901, 2155]);
        assert_eq!(
            decoded::<UInt32Type>(DataType::UInt32, vec![UInt(u32::MAX.into())]),
            [u32::MAX]
        );
        // BIGINT UNSIGNED, then BIT(64) all ones, BIT(16) and BIT(1) as big-endian bytes.
        let bits = vec![
            UInt(u64::MAX),
            Value::Bytes(vec![0xff; 8]),
            Value::Bytes(vec![1, 2]),
            Value::Bytes(vec![0]),
        ];
        assert_eq!(
            decoded::<UInt64Type>(DataType::UInt64, bits),
            [u64::MAX, u64::MAX, 0x0102, 0]
        );
    }

    #[test]
    fn floats() {
        use Value::{Double, Float};
        let f32s = vec![
            Float(f32::MAX),
            Float(f32::MIN_POSITIVE),
            Float(-0.0),
            Double(0.5),
        ];
        let f32s = decoded::<Float32Type>(DataType::Float32, f32s);
        assert_eq!(f32s, [f32::MAX, f32::MIN_POSITIVE, -0.0, 0.5]);
        assert!(f32s[2].is_sign_negative());
        let f64s = decoded::<Float64Type>(DataType::Float64, vec![Double(f64::MIN), Float(0.1)]);
        assert_eq!(f64s, [f64::MIN, f64::from(0.1f32)]);
    }

    #[test]
    fn decimal128() {
        let texts = [
            "-0.05",
            "0.00",
            "-0",
            "-123.40",
            "1234567890.12",
            "-9999999999.99",
            "000.10",
            "7",
        ];
        let a = column(DataType::Decimal128(12, 2), texts.map(text).to_vec());
        assert_eq!(a.data_type(), &DataType::Decimal128(12, 2));
        let expected = [-5, 0, 0, -12340, 123456789012, -999999999999, 10, 700];
        assert_eq!(a.as_primitive::<D128>().values(), &expected);
        let max = "9".repeat(38);
        let values = vec![
            text(&max),
            text(&format!("-{max}")),
            text(&format!("{max}.")),
            text("0"),
        ];
        let a = decoded::<D128>(DataType::Decimal128(38, 0), values);
        assert_eq!(
            a,
            [
                10i128.pow(38) - 1,
                1 - 10i128.pow(38),
                10i128.pow(38) - 1,
                0
            ]
        );
        // More than 18 digits with a fraction crosses the u64 chunks.
        let a = decoded::<D128>(
            DataType::Decimal128(30, 10),
            vec![text("-12345678901234567890.0123456789")],
        );
        assert_eq!(a, [-123456789012345678900123456789]);
        // Unusual text goes through arrow's parser; trailing zeros beyond the scale are exact.
        let values = vec![text(".5"), text("+2.5"), text("1.50000"), text(" 3 ")];
        assert_eq!(
            decoded::<D128>(DataType::Decimal128(10, 3), values),
            [500, 2500, 1500, 3000]
        );
    }

    #[test]
    fn decimal256() {
        let (int, frac) = ("9".repeat(35), "1".repeat(30));
        let values = vec![
            text(&format!("-{int}.{frac}")),
            text("0.000000000000000000000000000001"),
        ];
        let a = column(DataType::Decimal256(65, 30), values);
        let a = a.as_primitive::<arrow::datatypes::Decimal256Type>();
        assert_eq!(
            a.value(0),
            i256::from_string(&format!("-{int}{frac}")).unwrap()
        );
        assert_eq!(a.value(1), i256::ONE);
    }

    #[test]
    fn dates_and_times() {
        let days = decoded::<Date32Type>(
            DataType::Date32,
            vec![date(1000, 1, 1), date(9999, 12, 31), date(1970, 1, 2)],
        );
        assert_eq!(days, [-354_285, 2_932_896, 1]);

        let values = || {
            vec![
                Value::Date(2024, 2, 29, 23, 59, 58, 123_456),
                date(1000, 1, 1),
            ]
        };
        let expected = [1_709_251_198_123_456, -30_610_224_000_000_000];
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()));
        for data_type in [DATETIME, utc] {
            let a = column(data_type.clone(), values());
            assert_eq!(a.data_type(), &data_type);
            assert_eq!(
                a.as_primitive::<TimestampMicrosecondType>().values(),
                &expected
            );
        }

        // -838:59:59 and 838:59:59.999999 arrive as 34 days 22 hours; 1 day 2 hours is 26 hours.
        let hour = 3_600_000_000i64;
        let max = 838 * hour + 59 * 60_000_000 + 59_000_000;
        let times = vec![
            Value::Time(true, 34, 22, 59, 59, 0),
            Value::Time(false, 34, 22, 59, 59, 999_999),
            Value::Time(false, 1, 2, 0, 0, 0),
            Value::Time(true, 0, 0, 0, 0, 1),
        ];
        assert_eq!(
            decoded::<DurationMicrosecondType>(MICRO, times),
            [-max, max + 999_999, 26 * hour, -1]
        );
    }

    #[test]
    fn text_and_binary() {
        let a = column(
            DataType::Utf8,
            vec![text("😀 ok"), text(""), Value::NULL, text("{\"a\": 1}")],
        );
        let a = a.as_string::<i32>();
        assert_eq!(
            (a.value(0), a.value(1), a.value(3)),
            ("😀 ok", "", "{\"a\": 1}")
        );
        assert_eq!((a.is_valid(1), a.is_null(2)), (true, true));
        let all: Vec<u8> = (0..=255).collect();
        let a = column(
            DataType::Binary,
            vec![Value::Bytes(all.clone()), Value::Bytes(vec![]), Value::NULL],
        );
        let a = a.as_binary::<i32>();
        assert_eq!((a.value(0), a.value(1)), (&all[..], &[][..]));
        assert_eq!((a.is_valid(1), a.is_null(2)), (true, true));
    }

    #[test]
    fn nulls_everywhere_and_reuse() {
        let types = [
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::UInt8,
            DataType::UInt16,
            DataType::UInt32,
            DataType::UInt64,
            DataType::Float32,
            DataType::Float64,
            DataType::Decimal128(12, 2),
            DataType::Decimal256(65, 30),
            DataType::Date32,
            DATETIME,
            MICRO,
            DataType::Utf8,
            DataType::Binary,
        ];
        let mut decoder = decoder(&types, true);
        for round in 0..2 {
            for id in 0..3 {
                let mut row = vec![Some(Value::Int(id))];
                row.extend((0..types.len()).map(|i| (i % 2 == 0).then_some(Value::NULL)));
                decoder.push_row(row).unwrap();
            }
            assert_eq!(decoder.len(), 3);
            let batch = decoder.finish().unwrap();
            assert_eq!((decoder.len(), batch.num_rows()), (0, 3), "round {round}");
            for (array, data_type) in batch.columns()[1..].iter().zip(&types) {
                assert_eq!((array.data_type(), array.null_count()), (data_type, 3));
            }
        }
        assert_eq!(decoder.finish().unwrap().num_rows(), 0);
    }

    #[test]
    fn finish_twice_keeps_batches_apart() {
        let mut decoder = decoder(&[DataType::Utf8], true);
        decoder.push_row(row(1, Some(text("a")))).unwrap();
        let first = decoder.finish().unwrap();
        decoder.push_row(row(2, Some(text("b")))).unwrap();
        decoder.push_row(row(3, None)).unwrap();
        let second = decoder.finish().unwrap();
        assert_eq!(first.column(0).as_primitive::<Int64Type>().values(), &[1]);
        assert_eq!(first.column(1).as_string::<i32>().value(0), "a");
        assert_eq!(
            second.column(0).as_primitive::<Int64Type>().values(),
            &[2, 3]
        );
        let names = second.column(1).as_string::<i32>();
        assert_eq!((names.value(0), names.is_null(1)), ("b", true));
    }

    #[test]
    fn errors_name_column_key_and_cause() {
        let zero = Some(Value::Date(0, 0, 0, 0, 0, 0, 0));
        let cases = [
            (
                DataType::Utf8,
                Some(Value::Bytes(vec![b'a', 0xff])),
                "not valid UTF-8",
            ),
            (
                DataType::Int8,
                Some(Value::Int(128)),
                "128 is out of range for Arrow Int8",
            ),
            (
                DataType::UInt64,
                Some(Value::Int(-1)),
                "-1 is out of range for Arrow UInt64",
            ),
            (
                DataType::UInt64,
                Some(Value::Bytes(vec![1; 9])),
                "MySQL Bytes value",
            ),
            (
                DataType::Date32,
                zero.clone(),
                "the zero date cannot be represented as Arrow Date32 (MySQL value 0000-00-00 00:00:00.000000)",
            ),
            (DataType::Date32, Some(date(2024, 0, 1)), "zero date"),
            (
                DataType::Date32,
                Some(date(2023, 2, 29)),
                "not a valid date",
            ),
            (
                DataType::Date32,
                Some(Value::Date(2024, 1, 1, 1, 0, 0, 0)),
                "cannot be stored exactly",
            ),
            (
                DATETIME,
                zero,
                "zero date cannot be represented as Arrow Timestamp",
            ),
            (
                DataType::Decimal128(5, 2),
                Some(text("1234.00")),
                "does not fit",
            ),
            (
                DataType::Decimal128(38, 0),
                Some(text(&"9".repeat(39))),
                "does not fit",
            ),
            (
                DataType::Decimal256(65, 30),
                Some(text(&"9".repeat(36))),
                "does not fit",
            ),
            (
                DataType::Decimal128(12, 2),
                Some(text("1.234")),
                "cannot be stored exactly",
            ),
            (
                DataType::Decimal128(12, 2),
                Some(text("12a")),
                "Invalid decimal",
            ),
            (
                DataType::Decimal128(12, 2),
                Some(Value::Double(1.5)),
                "cannot store the MySQL Double value 1.5 as Arrow Decimal128(12, 2)",
            ),
            (
                DataType::Float32,
                Some(Value::Double(0.1)),
                "cannot be stored exactly as Arrow Float32",
            ),
            (
                DataType::Int64,
                Some(text("12")),
                "cannot store the MySQL Bytes value \"12\" as Arrow Int64",
            ),
            (
                MICRO,
                Some(Value::Time(false, u32::MAX, 0, 0, 0, 0)),
                "out of range",
            ),
            (
                DataType::Int32,
                None,
                "NULL in a column that is not nullable",
            ),
            (
                DataType::Utf8,
                Some(Value::NULL),
                "NULL in a column that is not nullable",
            ),
        ];
        for (data_type, value, expected) in cases {
            let nullable = value.as_ref().is_some_and(|v| *v != Value::NULL);
            let mut decoder = decoder(&[data_type], nullable);
            let err = decoder.push_row(row(42, value)).unwrap_err().to_string();
            assert!(
                err.starts_with("column `amount` of the row with key 42: "),
                "{err}"
            );
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn key_is_rendered_from_the_key_column() {
        let fields = vec![
            Field::new("v", DataType::Int8, true),
            Field::new("code", DataType::Utf8, false),
        ];
        let mut decoder = BatchDecoder::new(Arc::new(Schema::new(fields)), 1, 1).unwrap();
        let err = decoder
            .push_row(vec![Some(Value::Int(1000)), Some(text("ab-1"))])
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("column `v` of the row with key \"ab-1\": "),
            "{err}"
        );
    }

    #[test]
    fn an_error_drops_the_batch_then_the_decoder_recovers() {
        let mut decoder = decoder(&[DataType::Int8], true);
        decoder.push_row(row(1, Some(Value::Int(1)))).unwrap();
        decoder.push_row(row(2, Some(Value::Int(300)))).unwrap_err();
        decoder.push_row(row(3, Some(Value::Int(3)))).unwrap_err();
        decoder.finish().unwrap_err();
        decoder.push_row(row(4, Some(Value::Int(4)))).unwrap();
        let batch = decoder.finish().unwrap();
        assert_eq!(batch.column(1).as_primitive::<Int8Type>().values(), &[4]);
    }

    #[test]
    fn unsupported_types_fail_at_construction() {
        let schema = Schema::new(vec![Field::new("flag", DataType::Boolean, true)]);
        let err = BatchDecoder::new(Arc::new(schema), 0, 1)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("column `flag`") && err.contains("Boolean"),
            "{err}"
        );
        let schema = Schema::new(vec![Field::new("d", DataType::Decimal128(40, 0), true)]);
        assert!(BatchDecoder::new(Arc::new(schema), 0, 1).is_err());
    }
}
