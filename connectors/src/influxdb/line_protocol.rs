//! Arrow record batches → InfluxDB line protocol, straight from the columns into one buffer:
//! `measurement,tag=v,tag=v field=v,field=v timestamp\n` per row.
//!
//! - Names (measurement, tag keys and values, field keys): `,` and space are escaped, and `=`
//!   outside the measurement. A backslash is doubled where a reader could take it for an
//!   escape (before `\`, `,`, space, `=`, or at the end) and kept single elsewhere, which every
//!   InfluxDB version and VictoriaMetrics read as itself; InfluxDB 1.x/2.x keep the doubled
//!   form (their parser has no escape for a backslash), InfluxDB 3 rejects a trailing one. A
//!   newline has no escape at all: a tag value or name holding one is an error naming it.
//! - Tags are sorted by key. A null or empty tag value leaves the tag out.
//! - Field values: integers `12i`, unsigned `12u`, floats in their shortest round-trip form
//!   (an f32 keeps its own: `0.1`), booleans `true`/`false`, decimals as their exact decimal
//!   text (InfluxDB stores a 64-bit float: ~15–17 significant digits), strings quoted with `"`
//!   and `\` escaped (newlines kept: InfluxDB reads them inside quotes), binary as a base64
//!   string, lists/structs/maps as a JSON string, dates, times, timestamps and durations as
//!   integers `…i` counted in `precision` units (floored). Null, NaN and infinite values leave
//!   the field out; a row left without a field is skipped and counted.
//! - Time: the `time_column` (a timestamp, a date, or an integer already in `precision`
//!   units) or, without one, the batch's `now`.

#[cfg(test)]
mod tests;
mod values;

use arrow::array::{new_empty_array, Array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::SchemaRef;
use arrow::json::writer::EncoderOptions;
use arrow::record_batch::RecordBatch;

use super::config::{Precision, SECTION};
use crate::{ConnectorError, Result};
use values::{escape_name, field_writer, tag_writer, time_reader};

/// Which columns become what, from the config.
#[derive(Clone, Debug)]
pub struct PointSpec {
    /// Measurement of every point.
    pub measurement: String,
    /// Tag columns.
    pub tag_columns: Vec<String>,
    /// Field columns; `None`: every column that is not a tag or the time.
    pub field_columns: Option<Vec<String>>,
    /// Time column; `None`: every row is stamped with the batch's `now`.
    pub time_column: Option<String>,
    /// Unit of the timestamps written.
    pub precision: Precision,
}

/// Why a batch cannot be rendered: the row (if one is at fault), the column, the message.
type RowError = (Option<usize>, String, String);

/// One tag or field column of a [`Layout`].
#[derive(Clone, Debug)]
struct Column {
    index: usize,
    name: String,
    /// The escaped key followed by `=`.
    key: Vec<u8>,
}

/// A [`PointSpec`] resolved against one schema: column positions, escaped keys, types checked.
#[derive(Clone, Debug)]
pub struct Layout {
    schema: SchemaRef,
    measurement: Vec<u8>,
    /// Sorted by key.
    tags: Vec<Column>,
    fields: Vec<Column>,
    time: Option<Column>,
    precision: Precision,
}

/// What a rendering wrote and left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Lines (points) written.
    pub lines: u64,
    /// Rows skipped because none of their fields had a value.
    pub rows_without_fields: u64,
    /// Field values left out because they were NaN or infinite.
    pub non_finite: u64,
    /// Time values that had digits finer than `precision` (truncated).
    pub truncated_times: u64,
}

impl Layout {
    /// Resolve `spec` against `schema`: every named column must exist and have a type its role
    /// takes. All problems are reported at once, each naming the column and its type.
    pub fn new(spec: &PointSpec, schema: &SchemaRef) -> Result<Self> {
        let mut problems = Vec::new();
        let mut measurement = Vec::new();
        if let Err(e) = escape_name(&spec.measurement, false, &mut measurement) {
            problems.push(format!("measurement: {e}"));
        }
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let find = |role: &str, name: &str, problems: &mut Vec<String>| match schema.index_of(name)
        {
            Ok(index) => Some(index),
            Err(_) => {
                problems.push(format!(
                    "{role} column `{name}` is not in the batch (its columns: {})",
                    columns.join(", ")
                ));
                None
            }
        };
        let column = |index: usize, role: &str, problems: &mut Vec<String>| {
            let field = schema.field(index);
            let mut key = Vec::new();
            if let Err(e) = escape_name(field.name(), true, &mut key) {
                problems.push(format!("{role} column `{}`: {e}", field.name()));
            }
            key.push(b'=');
            Column {
                index,
                name: field.name().clone(),
                key,
            }
        };
        let options = EncoderOptions::default();
        let mut tags = Vec::new();
        for name in &spec.tag_columns {
            let Some(index) = find("tag", name, &mut problems) else {
                continue;
            };
            let data_type = schema.field(index).data_type();
            if tag_writer(new_empty_array(data_type).as_ref()).is_none() {
                problems.push(format!(
                    "tag column `{name}` is {data_type}: tags take strings, integers, booleans, \
                     decimals or dates (cast it in a transform, or make it a field)"
                ));
            }
            tags.push(column(index, "tag", &mut problems));
        }
        tags.sort_by(|a: &Column, b: &Column| a.name.as_bytes().cmp(b.name.as_bytes()));
        let time = spec.time_column.as_deref().and_then(|name| {
            let index = find("time", name, &mut problems)?;
            let data_type = schema.field(index).data_type();
            if time_reader(new_empty_array(data_type).as_ref(), spec.precision).is_none() {
                problems.push(format!(
                    "time column `{name}` is {data_type}: it must be a timestamp, a date or an \
                     integer (counted in `precision` units)"
                ));
            }
            Some(column(index, "time", &mut problems))
        });
        let field_indices: Vec<usize> = match &spec.field_columns {
            Some(names) => names
                .iter()
                .filter_map(|name| find("field", name, &mut problems))
                .collect(),
            None => (0..schema.fields().len())
                .filter(|&i| {
                    !tags.iter().any(|t| t.index == i) && time.as_ref().is_none_or(|t| t.index != i)
                })
                .collect(),
        };
        let mut fields = Vec::new();
        for index in field_indices {
            let field = &schema.fields()[index];
            let empty = new_empty_array(field.data_type());
            match field_writer(field, empty.as_ref(), &options, spec.precision) {
                Ok(Some(_)) => {}
                Ok(None) => problems.push(format!(
                    "field column `{}` is {}, which has no line protocol form",
                    field.name(),
                    field.data_type()
                )),
                Err(e) => problems.push(format!(
                    "field column `{}` ({}) cannot be written as JSON text: {e}",
                    field.name(),
                    field.data_type()
                )),
            }
            fields.push(column(index, "field", &mut problems));
        }
        if fields.is_empty() && spec.field_columns.is_none() {
            problems.push(
                "no column is left for the fields (every point needs one): the batch holds only \
                 the tag and time columns"
                    .into(),
            );
        }
        if !problems.is_empty() {
            return Err(ConnectorError::Other(format!(
                "{SECTION}: {}",
                problems.join("; ")
            )));
        }
        Ok(Self {
            schema: schema.clone(),
            measurement,
            tags,
            fields,
            time,
            precision: spec.precision,
        })
    }

    /// Whether this layout was resolved for `schema`.
    pub fn fits(&self, schema: &SchemaRef) -> bool {
        std::sync::Arc::ptr_eq(&self.schema, schema) || self.schema == *schema
    }

    /// Append one line per row of `batch` (number `batch_number`, for errors) to `out`, and
    /// the offset where each line ends to `ends`; rows without any field value are skipped.
    /// Without a time column, row `i` is stamped `now.0 + i * now.1` (in `precision` units). On error
    /// `out` and `ends` are left as they were.
    pub fn render(
        &self,
        batch: &RecordBatch,
        now: (i64, i64),
        batch_number: usize,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<Tally> {
        let (out_len, ends_len) = (out.len(), ends.len());
        let result = self.render_rows(batch, now, out, ends);
        result.map_err(|(row, column, message)| {
            out.truncate(out_len);
            ends.truncate(ends_len);
            match row {
                Some(row) => ConnectorError::Other(format!(
                    "{SECTION}: {}, column `{column}`: {message}",
                    crate::row_name(batch, row, batch_number)
                )),
                None => ConnectorError::Other(format!(
                    "{SECTION}: column `{column}` of batch {batch_number}: {message}"
                )),
            }
        })
    }

    /// The row loop.
    fn render_rows(
        &self,
        batch: &RecordBatch,
        (now, step): (i64, i64),
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> std::result::Result<Tally, RowError> {
        let schema = batch.schema();
        let options = EncoderOptions::default();
        let unsupported =
            |c: &Column| -> RowError { (None, c.name.clone(), "unsupported type".to_string()) };
        let mut tags = Vec::with_capacity(self.tags.len());
        for c in &self.tags {
            let array = batch.column(c.index);
            let write = tag_writer(array.as_ref()).ok_or_else(|| unsupported(c))?;
            tags.push((c, array.logical_nulls(), write));
        }
        let mut fields = Vec::with_capacity(self.fields.len());
        for c in &self.fields {
            let array = batch.column(c.index);
            let write = field_writer(
                &schema.fields()[c.index],
                array.as_ref(),
                &options,
                self.precision,
            )
            .map_err(|e| -> RowError { (None, c.name.clone(), e.to_string()) })?
            .ok_or_else(|| unsupported(c))?;
            fields.push((c, array.logical_nulls(), write));
        }
        let time = match &self.time {
            Some(c) => {
                let array = batch.column(c.index);
                let read =
                    time_reader(array.as_ref(), self.precision).ok_or_else(|| unsupported(c))?;
                Some((c, array.logical_nulls(), read))
            }
            None => None,
        };
        let mut number = itoa::Buffer::new();
        let mut tally = Tally::default();
        out.reserve(
            batch.num_rows() * (self.measurement.len() + 16 * (tags.len() + fields.len()) + 20),
        );
        for row in 0..batch.num_rows() {
            let line_start = out.len();
            out.extend_from_slice(&self.measurement);
            for (c, nulls, write) in tags.iter_mut() {
                if is_null(nulls, row) {
                    continue;
                }
                let mark = out.len();
                out.push(b',');
                out.extend_from_slice(&c.key);
                let value_start = out.len();
                write(row, out).map_err(|e| (Some(row), c.name.clone(), e))?;
                if out.len() == value_start {
                    out.truncate(mark);
                }
            }
            let mut written = 0;
            for (c, nulls, write) in fields.iter_mut() {
                if is_null(nulls, row) {
                    continue;
                }
                let mark = out.len();
                out.push(if written == 0 { b' ' } else { b',' });
                out.extend_from_slice(&c.key);
                if write(row, out).map_err(|e| (Some(row), c.name.clone(), e))? {
                    written += 1;
                } else {
                    out.truncate(mark);
                    tally.non_finite += 1;
                }
            }
            if written == 0 {
                out.truncate(line_start);
                tally.rows_without_fields += 1;
                continue;
            }
            out.push(b' ');
            match &time {
                None => {
                    let at = now.saturating_add((row as i64).saturating_mul(step));
                    out.extend_from_slice(number.format(at).as_bytes());
                }
                Some((c, nulls, read)) => {
                    if is_null(nulls, row) {
                        let message = "the time is null: a point needs one".to_string();
                        return Err((Some(row), c.name.clone(), message));
                    }
                    let (at, truncated) = read(row).map_err(|e| (Some(row), c.name.clone(), e))?;
                    tally.truncated_times += u64::from(truncated);
                    out.extend_from_slice(number.format(at).as_bytes());
                }
            }
            out.push(b'\n');
            ends.push(out.len());
            tally.lines += 1;
        }
        Ok(tally)
    }
}

fn is_null(nulls: &Option<NullBuffer>, row: usize) -> bool {
    nulls.as_ref().is_some_and(|n| n.is_null(row))
}
