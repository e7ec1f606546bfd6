//! Rows as Firehose records: one JSON object per row, keys in column order, rendered straight
//! into one byte buffer per batch.
//!
//! Built on arrow's JSON encoders (numbers, strings, lists, structs, maps, dictionaries), with
//! the types where their output is not what downstream readers need replaced:
//!
//! - Decimal: `"12.50"` (exact, the scale kept) or `12.50` (`decimals: number`).
//! - Binary: base64 (arrow writes hex).
//! - Timestamp: RFC 3339 with as many fraction digits as the unit has (none, 3, 6 or 9); with a
//!   timezone the instant is written in UTC with `Z` (`2026-11-22T10:15:30.123456Z`), without
//!   one it is written as stored, without an offset.
//! - Date32/Date64: `YYYY-MM-DD`; Time32/Time64: `HH:MM:SS[.fff]`.
//!
//! NaN and infinite floats are written as `null`. A value that has no such text (a timestamp
//! out of chrono's range) fails the batch, naming the column.

use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{Array, ArrayAccessor, AsArray};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{
    DataType, FieldRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow::error::ArrowError;
use arrow::json::writer::{make_encoder, Encoder, EncoderFactory, EncoderOptions, NullableEncoder};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::config::{Decimals, SECTION};
use crate::{ConnectorError, Result};

/// Renders record batches as JSON records.
#[derive(Clone, Copy, Debug)]
pub struct JsonRows {
    decimals: Decimals,
    newline_delimited: bool,
}

impl JsonRows {
    /// A renderer writing decimals as `decimals` says, each record ended by `\n` when
    /// `newline_delimited`.
    pub fn new(decimals: Decimals, newline_delimited: bool) -> Self {
        Self {
            decimals,
            newline_delimited,
        }
    }

    /// Append one record per row of `batch` to `out`, and the offset in `out` where each record
    /// ends to `ends` (a record starts where the previous one ends, the first where `out` ended).
    pub fn render(
        &self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<()> {
        let fault = Fault::default();
        let options = EncoderOptions::default()
            .with_explicit_nulls(true)
            .with_encoder_factory(Arc::new(FirehoseTypes {
                decimals: self.decimals,
                fault: fault.clone(),
            }));
        let schema = batch.schema();
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let encoder = make_encoder(field, column.as_ref(), &options).map_err(|source| {
                ConnectorError::Arrow {
                    context: format!(
                        "{SECTION}: column `{}` ({}) cannot be written as JSON",
                        field.name(),
                        field.data_type()
                    ),
                    source,
                }
            })?;
            columns.push((object_key(field.name()), encoder));
        }
        out.reserve(batch.num_rows() * (16 * columns.len() + 2));
        ends.reserve(batch.num_rows());
        for row in 0..batch.num_rows() {
            out.push(b'{');
            for (i, (key, encoder)) in columns.iter_mut().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key);
                if encoder.is_null(row) {
                    out.extend_from_slice(b"null");
                } else {
                    encoder.encode(row, out);
                }
            }
            out.push(b'}');
            if self.newline_delimited {
                out.push(b'\n');
            }
            ends.push(out.len());
        }
        match fault.take() {
            Some(message) => Err(ConnectorError::Other(format!("{SECTION}: {message}"))),
            None => Ok(()),
        }
    }
}

/// `"name":`, the name escaped as a JSON string.
fn object_key(name: &str) -> Vec<u8> {
    let mut key = serde_json::Value::from(name).to_string().into_bytes();
    key.push(b':');
    key
}

/// The first value of a batch that could not be rendered (arrow's encoders cannot fail, so
/// ours note the problem here and write `null`; the batch is then refused).
#[derive(Clone, Debug, Default)]
struct Fault(Arc<Mutex<Option<String>>>);

impl Fault {
    fn record(&self, message: impl FnOnce() -> String) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(message());
        }
    }

    fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Our encoders for the types whose arrow rendering we replace (see the module doc), at any
/// depth (list items, struct fields, dictionary values).
#[derive(Debug)]
struct FirehoseTypes {
    decimals: Decimals,
    fault: Fault,
}

impl EncoderFactory for FirehoseTypes {
    fn make_default_encoder<'a>(
        &self,
        field: &'a FieldRef,
        array: &'a dyn Array,
        _options: &'a EncoderOptions,
    ) -> Result<Option<NullableEncoder<'a>>, ArrowError> {
        let text = |options: FormatOptions<'static>, quoted: bool| {
            Formatted::new(array, options, quoted, field.name(), &self.fault)
        };
        let encoder: Box<dyn Encoder + 'a> = match array.data_type() {
            DataType::Binary => Box::new(Base64Text(array.as_binary::<i32>())),
            DataType::LargeBinary => Box::new(Base64Text(array.as_binary::<i64>())),
            DataType::FixedSizeBinary(_) => Box::new(Base64Text(array.as_fixed_size_binary())),
            DataType::BinaryView => Box::new(Base64Text(array.as_binary_view())),
            DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => Box::new(text(
                FormatOptions::new(),
                self.decimals == Decimals::String,
            )?),
            DataType::Date32 | DataType::Time32(_) | DataType::Time64(_) => {
                Box::new(text(FormatOptions::new(), true)?)
            }
            DataType::Date64 => Box::new(text(
                FormatOptions::new().with_datetime_format(Some("%Y-%m-%d")),
                true,
            )?),
            DataType::Timestamp(unit, tz) => Box::new(TimestampText::new(
                array,
                *unit,
                tz.is_some(),
                field.name(),
                &self.fault,
            )),
            _ => return Ok(None),
        };
        Ok(Some(NullableEncoder::new(encoder, array.nulls().cloned())))
    }
}

/// Bytes as a base64 string.
struct Base64Text<A>(A);

impl<'a, A> Encoder for Base64Text<A>
where
    A: ArrayAccessor<Item = &'a [u8]>,
{
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        out.push(b'"');
        out.extend_from_slice(aws_smithy_types::base64::encode(self.0.value(idx)).as_bytes());
        out.push(b'"');
    }
}

/// Arrow's display text of a value (decimal, date, time), bare or as a JSON string. None of
/// these texts holds a character JSON would escape.
struct Formatted<'a> {
    formatter: ArrayFormatter<'a>,
    quoted: bool,
    scratch: String,
    column: String,
    fault: Fault,
}

impl<'a> Formatted<'a> {
    fn new(
        array: &'a dyn Array,
        options: FormatOptions<'static>,
        quoted: bool,
        column: &str,
        fault: &Fault,
    ) -> Result<Self, ArrowError> {
        Ok(Self {
            formatter: ArrayFormatter::try_new(array, &options)?,
            quoted,
            scratch: String::new(),
            column: column.to_string(),
            fault: fault.clone(),
        })
    }
}

impl Encoder for Formatted<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        self.scratch.clear();
        match self.formatter.value(idx).write(&mut self.scratch) {
            Ok(()) => {
                if self.quoted {
                    out.push(b'"');
                }
                out.extend_from_slice(self.scratch.as_bytes());
                if self.quoted {
                    out.push(b'"');
                }
            }
            Err(e) => {
                self.fault
                    .record(|| format!("column `{}`: a value cannot be written: {e}", self.column));
                out.extend_from_slice(b"null");
            }
        }
    }
}

/// A timestamp as RFC 3339 text (see the module doc).
struct TimestampText {
    values: ScalarBuffer<i64>,
    /// Units per second.
    per_second: i64,
    /// chrono format: date, time and the unit's fraction digits.
    format: &'static str,
    /// The column has a timezone: the UTC instant is written with `Z`.
    utc: bool,
    column: String,
    fault: Fault,
}

impl TimestampText {
    fn new(array: &dyn Array, unit: TimeUnit, utc: bool, column: &str, fault: &Fault) -> Self {
        let (values, per_second, format) = match unit {
            TimeUnit::Second => (
                array.as_primitive::<TimestampSecondType>().values().clone(),
                1,
                "%Y-%m-%dT%H:%M:%S",
            ),
            TimeUnit::Millisecond => (
                array
                    .as_primitive::<TimestampMillisecondType>()
                    .values()
                    .clone(),
                1_000,
                "%Y-%m-%dT%H:%M:%S%.3f",
            ),
            TimeUnit::Microsecond => (
                array
                    .as_primitive::<TimestampMicrosecondType>()
                    .values()
                    .clone(),
                1_000_000,
                "%Y-%m-%dT%H:%M:%S%.6f",
            ),
            TimeUnit::Nanosecond => (
                array
                    .as_primitive::<TimestampNanosecondType>()
                    .values()
                    .clone(),
                1_000_000_000,
                "%Y-%m-%dT%H:%M:%S%.9f",
            ),
        };
        Self {
            values,
            per_second,
            format,
            utc,
            column: column.to_string(),
            fault: fault.clone(),
        }
    }
}

impl Encoder for TimestampText {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let value = self.values[idx];
        let seconds = value.div_euclid(self.per_second);
        // Below one second, so the product stays under 10^9.
        let nanos = value.rem_euclid(self.per_second) * (1_000_000_000 / self.per_second);
        match chrono::DateTime::from_timestamp(seconds, nanos as u32) {
            Some(instant) => {
                out.push(b'"');
                let _ = write!(out, "{}", instant.naive_utc().format(self.format));
                if self.utc {
                    out.push(b'Z');
                }
                out.push(b'"');
            }
            None => {
                self.fault.record(|| {
                    format!(
                        "column `{}`: timestamp {value} ({} per second) is outside the dates that can be written",
                        self.column, self.per_second
                    )
                });
                out.extend_from_slice(b"null");
            }
        }
    }
}

#[cfg(test)]
mod tests;
