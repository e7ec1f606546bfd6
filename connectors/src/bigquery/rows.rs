//! REST rows → Arrow columns.
//!
//! tabledata.list and getQueryResults send rows as `{"f": [{"v": …}, …]}`: a scalar is text (or
//! null), a REPEATED value is a list of `{"v": …}`, a RECORD is `{"f": […]}` again. Cells are
//! deserialized into [`Value`] (no map per cell), then appended to one builder per column,
//! following the schema; a page becomes one record batch.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Decimal256Builder,
    Float64Builder, Int64Builder, ListArray, NullBufferBuilder, StringBuilder, StructArray,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, SchemaRef};
use arrow::record_batch::RecordBatch;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::types::{self, FieldSchema, Kind};
use super::values;

/// One cell as the REST API sends it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    /// `null`.
    Null,
    /// A scalar, always as text (numbers and booleans a server sends bare are kept as text).
    Text(String),
    /// A REPEATED value's elements.
    List(Vec<Value>),
    /// A RECORD's (or a row's) cells.
    Record(Vec<Value>),
}

impl Value {
    /// What the value looks like, for error messages (long text shortened).
    fn describe(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Text(text) if text.chars().count() > 80 => {
                let head: String = text.chars().take(80).collect();
                format!("{head:?}…")
            }
            Value::Text(text) => format!("{text:?}"),
            Value::List(items) => format!("an array of {} values", items.len()),
            Value::Record(cells) => format!("a record of {} fields", cells.len()),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a BigQuery cell value (text, null, an array of {\"v\": …} or {\"f\": […]})")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Text(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Text(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Text(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Text(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Text(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Wrapped(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut cells = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::F => cells = Some(map.next_value::<Cells>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        cells
            .map(Value::Record)
            .ok_or_else(|| de::Error::missing_field("f"))
    }
}

/// `{"v": value}`: a cell, or an element of a REPEATED value.
struct Wrapped(Value);

impl<'de> Deserialize<'de> for Wrapped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WrappedVisitor;
        impl<'de> Visitor<'de> for WrappedVisitor {
            type Value = Wrapped;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a cell {\"v\": …}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Wrapped, A::Error> {
                let mut value = Value::Null;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::V => value = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Wrapped(value))
            }
        }
        deserializer.deserialize_map(WrappedVisitor)
    }
}

/// `[{"v": …}, …]`: a row's or a record's cells.
struct Cells(Vec<Value>);

impl<'de> Deserialize<'de> for Cells {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wrapped = Vec::<Wrapped>::deserialize(deserializer)?;
        Ok(Cells(wrapped.into_iter().map(|w| w.0).collect()))
    }
}

/// The keys of the row format, matched without allocating.
enum Key {
    F,
    V,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "f" => Key::F,
                    "v" => Key::V,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Turns pages of REST rows into record batches of a fixed schema.
pub(super) struct PageDecoder {
    schema: SchemaRef,
    columns: Vec<Column>,
}

impl PageDecoder {
    /// A decoder for rows of `fields` (the columns in the order the server sends them).
    pub fn new(fields: &[FieldSchema]) -> Result<Self, String> {
        let schema = types::arrow_schema(fields)?;
        let columns = fields
            .iter()
            .zip(schema.fields().iter())
            .map(|(bq, arrow)| Column::new(bq, arrow, bq.name.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { schema, columns })
    }

    /// One batch of `rows`; an error names the row (its index in `rows`), the column and the
    /// raw value.
    pub fn decode(&mut self, rows: &[Value]) -> Result<RecordBatch, RowError> {
        for (row, value) in rows.iter().enumerate() {
            let cells = match value {
                Value::Record(cells) if cells.len() == self.columns.len() => cells,
                other => {
                    self.discard();
                    return Err(RowError {
                        row,
                        message: format!(
                            "expected a row of {} cells, found {}",
                            self.columns.len(),
                            other.describe()
                        ),
                    });
                }
            };
            let failure = self
                .columns
                .iter_mut()
                .zip(cells)
                .find_map(|(column, cell)| column.append(cell).err());
            if let Some(message) = failure {
                self.discard();
                return Err(RowError { row, message });
            }
        }
        // Every column is finished (and so emptied) even when one fails.
        let arrays: Vec<_> = self.columns.iter_mut().map(Column::finish).collect();
        let arrays = arrays
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| RowError { row: 0, message })?;
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| RowError {
            row: 0,
            message: e.to_string(),
        })
    }

    /// Drop what a failed page left in the builders.
    fn discard(&mut self) {
        for column in &mut self.columns {
            let _ = column.finish();
        }
    }
}

/// A value that could not be decoded: `row` is its index in the page.
#[derive(Debug)]
pub(super) struct RowError {
    pub row: usize,
    pub message: String,
}

/// The builder of one column (or of a RECORD's sub-field, or of a REPEATED column's elements).
struct Column {
    /// `rec.sub.x` (elements of a REPEATED column: `tags[]`).
    path: String,
    kind: Kind,
    nullable: bool,
    data: Data,
}

enum Data {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Bool(BooleanBuilder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Time(Time64MicrosecondBuilder),
    Decimal128(Decimal128Builder),
    Decimal256(Decimal256Builder),
    List {
        item: FieldRef,
        offsets: Vec<i32>,
        elements: Box<Column>,
    },
    Struct {
        fields: Fields,
        children: Vec<Column>,
        validity: NullBufferBuilder,
    },
}

impl Column {
    /// The builder for `bq` whose Arrow field is `arrow` (from [`types::arrow_field`]).
    fn new(bq: &FieldSchema, arrow: &Field, path: String) -> Result<Self, String> {
        let kind = bq.kind()?;
        if bq.is_repeated() {
            let DataType::List(item) = arrow.data_type() else {
                return Err(format!(
                    "column `{path}`: a REPEATED column must map to a list"
                ));
            };
            let elements = Column::scalar(bq, kind, item, format!("{path}[]"))?;
            return Ok(Column {
                path,
                kind,
                nullable: false,
                data: Data::List {
                    item: item.clone(),
                    offsets: vec![0],
                    elements: Box::new(elements),
                },
            });
        }
        Column::scalar(bq, kind, arrow, path)
    }

    /// The builder of single values of `bq` (a column, or a REPEATED column's elements).
    fn scalar(bq: &FieldSchema, kind: Kind, arrow: &Field, path: String) -> Result<Self, String> {
        let decimal_err = |e: arrow::error::ArrowError| format!("column `{path}`: {e}");
        let data = match (kind, arrow.data_type()) {
            (Kind::Int64, _) => Data::Int64(Int64Builder::new()),
            (Kind::Float64, _) => Data::Float64(Float64Builder::new()),
            (Kind::Bool, _) => Data::Bool(BooleanBuilder::new()),
            (Kind::Bytes, _) => Data::Binary(BinaryBuilder::new()),
            (Kind::Date, _) => Data::Date(Date32Builder::new()),
            (Kind::Datetime, _) => Data::Timestamp(TimestampMicrosecondBuilder::new()),
            (Kind::Timestamp, _) => {
                Data::Timestamp(TimestampMicrosecondBuilder::new().with_timezone(types::UTC))
            }
            (Kind::Time, _) => Data::Time(Time64MicrosecondBuilder::new()),
            (Kind::Numeric, _) => Data::Decimal128(
                Decimal128Builder::new()
                    .with_precision_and_scale(types::NUMERIC_PRECISION, types::NUMERIC_SCALE)
                    .map_err(decimal_err)?,
            ),
            (Kind::BigNumeric, _) => Data::Decimal256(
                Decimal256Builder::new()
                    .with_precision_and_scale(types::BIGNUMERIC_PRECISION, types::BIGNUMERIC_SCALE)
                    .map_err(decimal_err)?,
            ),
            (Kind::String | Kind::Json | Kind::Geography | Kind::Interval | Kind::Range, _) => {
                Data::Utf8(StringBuilder::new())
            }
            (Kind::Record, DataType::Struct(fields)) => {
                let children = bq
                    .children()?
                    .iter()
                    .zip(fields.iter())
                    .map(|(child, field)| {
                        Column::new(child, field, format!("{path}.{}", child.name))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Data::Struct {
                    fields: fields.clone(),
                    children,
                    validity: NullBufferBuilder::new(0),
                }
            }
            (Kind::Record, other) => {
                return Err(format!("column `{path}`: a RECORD cannot map to {other}"))
            }
        };
        Ok(Column {
            path,
            kind,
            nullable: arrow.is_nullable(),
            data,
        })
    }

    /// Append one value; an error names the column and the raw value.
    fn append(&mut self, value: &Value) -> Result<(), String> {
        if matches!(value, Value::Null) && !self.nullable && !matches!(self.data, Data::List { .. })
        {
            return Err(format!("column `{}`: null in a REQUIRED column", self.path));
        }
        let bad = |what: &str| -> String {
            format!(
                "column `{}`: cannot read {} as {}{what}",
                self.path,
                value.describe(),
                self.kind.name()
            )
        };
        macro_rules! scalar {
            ($builder:expr, $parse:expr) => {
                match value {
                    Value::Null => $builder.append_null(),
                    Value::Text(text) => match ($parse)(text.as_str()) {
                        Some(v) => $builder.append_value(v),
                        None => return Err(bad("")),
                    },
                    _ => return Err(bad("")),
                }
            };
        }
        match &mut self.data {
            Data::Int64(b) => scalar!(b, values::parse_int64),
            Data::Float64(b) => scalar!(b, values::parse_float64),
            Data::Bool(b) => scalar!(b, values::parse_bool),
            Data::Utf8(b) => scalar!(b, |t: &str| Some(t.to_owned())),
            Data::Binary(b) => scalar!(b, values::parse_bytes),
            Data::Date(b) => scalar!(b, values::parse_date),
            Data::Time(b) => scalar!(b, values::parse_time),
            Data::Decimal128(b) => scalar!(b, values::parse_numeric),
            Data::Decimal256(b) => scalar!(b, values::parse_bignumeric),
            Data::Timestamp(b) => {
                let parse = if self.kind == Kind::Datetime {
                    values::parse_datetime
                } else {
                    values::parse_timestamp
                };
                scalar!(b, parse)
            }
            Data::List {
                offsets, elements, ..
            } => {
                // BigQuery has no NULL arrays: an absent REPEATED value is an empty one.
                let items: &[Value] = match value {
                    Value::List(items) => items,
                    Value::Null => &[],
                    _ => return Err(bad(" (an array was expected)")),
                };
                for item in items {
                    if matches!(item, Value::Null) {
                        return Err(format!(
                            "column `{}`: an array holds a null element, which BigQuery arrays cannot",
                            self.path
                        ));
                    }
                    elements.append(item)?;
                }
                let last = offsets.last().copied().unwrap_or(0);
                let next = i32::try_from(items.len())
                    .ok()
                    .and_then(|n| last.checked_add(n))
                    .ok_or_else(|| {
                        format!(
                            "column `{}`: too many array elements in one page",
                            self.path
                        )
                    })?;
                offsets.push(next);
            }
            Data::Struct {
                children, validity, ..
            } => match value {
                Value::Record(cells) if cells.len() == children.len() => {
                    for (child, cell) in children.iter_mut().zip(cells) {
                        child.append(cell)?;
                    }
                    validity.append_non_null();
                }
                Value::Null => {
                    for child in children.iter_mut() {
                        child.append_masked();
                    }
                    validity.append_null();
                }
                _ => {
                    return Err(bad(&format!(
                        " (a record of {} fields was expected)",
                        children.len()
                    )))
                }
            },
        }
        Ok(())
    }

    /// Append a placeholder under a NULL record: null for a value, an empty array for a
    /// REPEATED field (never an error: the parent's null masks it).
    fn append_masked(&mut self) {
        match &mut self.data {
            Data::Int64(b) => b.append_null(),
            Data::Float64(b) => b.append_null(),
            Data::Bool(b) => b.append_null(),
            Data::Utf8(b) => b.append_null(),
            Data::Binary(b) => b.append_null(),
            Data::Date(b) => b.append_null(),
            Data::Timestamp(b) => b.append_null(),
            Data::Time(b) => b.append_null(),
            Data::Decimal128(b) => b.append_null(),
            Data::Decimal256(b) => b.append_null(),
            Data::List { offsets, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
            }
            Data::Struct {
                children, validity, ..
            } => {
                for child in children.iter_mut() {
                    child.append_masked();
                }
                validity.append_null();
            }
        }
    }

    /// The column built so far; the builder starts over empty.
    fn finish(&mut self) -> Result<ArrayRef, String> {
        let in_column = |e: arrow::error::ArrowError| format!("column `{}`: {e}", self.path);
        let array: ArrayRef = match &mut self.data {
            Data::Int64(b) => Arc::new(b.finish()),
            Data::Float64(b) => Arc::new(b.finish()),
            Data::Bool(b) => Arc::new(b.finish()),
            Data::Utf8(b) => Arc::new(b.finish()),
            Data::Binary(b) => Arc::new(b.finish()),
            Data::Date(b) => Arc::new(b.finish()),
            Data::Timestamp(b) => Arc::new(b.finish()),
            Data::Time(b) => Arc::new(b.finish()),
            Data::Decimal128(b) => Arc::new(b.finish()),
            Data::Decimal256(b) => Arc::new(b.finish()),
            Data::List {
                item,
                offsets,
                elements,
            } => {
                let offsets = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                let items = elements.finish()?;
                Arc::new(ListArray::try_new(item.clone(), offsets, items, None).map_err(in_column)?)
            }
            Data::Struct {
                fields,
                children,
                validity,
            } => {
                let len = validity.len();
                let nulls = validity.finish();
                // Every child is finished (and so emptied) even when one fails.
                let arrays: Vec<_> = children.iter_mut().map(Column::finish).collect();
                let arrays = arrays.into_iter().collect::<Result<Vec<_>, _>>()?;
                Arc::new(
                    StructArray::try_new_with_length(fields.clone(), arrays, nulls, len)
                        .map_err(in_column)?,
                )
            }
        };
        Ok(array)
    }
}

#[cfg(test)]
mod tests;
