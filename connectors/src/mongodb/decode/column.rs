//! One column at any depth: a typed Arrow builder fed straight from raw BSON.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Decimal128Builder, Float64Builder, Int32Builder,
    Int64Builder, ListArray, NullBufferBuilder, StringBuilder, TimestampMillisecondBuilder,
    TimestampSecondBuilder,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use mongodb::bson::RawBsonRef;

use super::document::StructColumns;
use super::{bson_type_name, hex, json_text, At, Policy, BYTES_PER_ROW_HINT};
use crate::mongodb::decimal::{self, Decimal};
use crate::mongodb::schema::FieldType;
use crate::{ConnectorError, Result};

/// One column (at any depth): its builder, its path for messages and its mismatch count.
pub(super) struct Column {
    /// `address.city`, `tags[]`.
    pub(super) path: String,
    pub(super) ty: FieldType,
    pub(super) len: usize,
    pub(super) mismatches: u64,
    pub(super) builder: Builder,
}

pub(super) enum Builder {
    /// ObjectId hex, strings, and JSON text.
    Utf8(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Double(Float64Builder),
    Bool(BooleanBuilder),
    Date(TimestampMillisecondBuilder),
    Timestamp(TimestampSecondBuilder),
    Decimal(Decimal128Builder),
    Binary(BinaryBuilder),
    List {
        offsets: Vec<i32>,
        nulls: NullBufferBuilder,
        item: Box<Column>,
    },
    Struct(Box<StructColumns>),
}

impl Column {
    pub(super) fn new(path: String, ty: &FieldType, capacity: usize) -> Result<Self> {
        let bytes = capacity * BYTES_PER_ROW_HINT;
        let builder = match ty {
            FieldType::ObjectId | FieldType::String | FieldType::Json => {
                Builder::Utf8(StringBuilder::with_capacity(capacity, bytes))
            }
            FieldType::Int32 => Builder::Int32(Int32Builder::with_capacity(capacity)),
            FieldType::Int64 => Builder::Int64(Int64Builder::with_capacity(capacity)),
            FieldType::Double => Builder::Double(Float64Builder::with_capacity(capacity)),
            FieldType::Bool => Builder::Bool(BooleanBuilder::with_capacity(capacity)),
            FieldType::Date => Builder::Date(
                TimestampMillisecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
            FieldType::Timestamp => Builder::Timestamp(
                TimestampSecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
            FieldType::Decimal { precision, scale } => Builder::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(*precision, *scale)
                    .map_err(|e| ConnectorError::Arrow {
                        context: format!("field `{path}`"),
                        source: e,
                    })?,
            ),
            FieldType::Binary => Builder::Binary(BinaryBuilder::with_capacity(capacity, bytes)),
            FieldType::List(item) => Builder::List {
                offsets: vec![0],
                nulls: NullBufferBuilder::new(capacity),
                item: Box::new(Column::new(format!("{path}[]"), item, capacity)?),
            },
            FieldType::Struct(fields) => {
                Builder::Struct(Box::new(StructColumns::new(Some(&path), fields, capacity)?))
            }
        };
        Ok(Self {
            path,
            ty: ty.clone(),
            len: 0,
            mismatches: 0,
            builder,
        })
    }

    pub(super) fn append_null(&mut self) {
        match &mut self.builder {
            Builder::Utf8(b) => b.append_null(),
            Builder::Int32(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Double(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
            Builder::Decimal(b) => b.append_null(),
            Builder::Binary(b) => b.append_null(),
            Builder::List { offsets, nulls, .. } => {
                let end = offsets.last().copied().unwrap_or(0);
                offsets.push(end);
                nulls.append_null();
            }
            Builder::Struct(s) => s.append_null(),
        }
        self.len += 1;
    }

    /// Append `value`; a value of another type follows the policy.
    pub(super) fn append(&mut self, value: RawBsonRef<'_>, at: &At<'_>) -> Result<()> {
        if matches!(value, RawBsonRef::Null | RawBsonRef::Undefined) {
            self.append_null();
            return Ok(());
        }
        let fitted = match (&mut self.builder, &self.ty) {
            (Builder::Utf8(b), FieldType::ObjectId) => match value {
                RawBsonRef::ObjectId(oid) => {
                    let digits = hex(oid.bytes());
                    match std::str::from_utf8(&digits) {
                        Ok(s) => b.append_value(s),
                        Err(_) => b.append_value(oid.to_hex()),
                    }
                    true
                }
                _ => false,
            },
            (Builder::Utf8(b), FieldType::String) => match value {
                RawBsonRef::String(s) | RawBsonRef::Symbol(s) => {
                    b.append_value(s);
                    true
                }
                _ => false,
            },
            (Builder::Utf8(b), _) => {
                b.append_value(json_text(value, at)?);
                true
            }
            (Builder::Int32(b), _) => match value {
                RawBsonRef::Int32(v) => {
                    b.append_value(v);
                    true
                }
                RawBsonRef::Int64(v) => match i32::try_from(v) {
                    Ok(v) => {
                        b.append_value(v);
                        true
                    }
                    Err(_) => false,
                },
                _ => false,
            },
            (Builder::Int64(b), _) => match value {
                RawBsonRef::Int32(v) => {
                    b.append_value(i64::from(v));
                    true
                }
                RawBsonRef::Int64(v) => {
                    b.append_value(v);
                    true
                }
                _ => false,
            },
            (Builder::Double(b), _) => match value {
                RawBsonRef::Double(v) => {
                    b.append_value(v);
                    true
                }
                RawBsonRef::Int32(v) => {
                    b.append_value(f64::from(v));
                    true
                }
                // Beyond 2^53 the nearest double: the column is Float64 because doubles and
                // integers share it.
                RawBsonRef::Int64(v) => {
                    b.append_value(v as f64);
                    true
                }
                _ => false,
            },
            (Builder::Bool(b), _) => match value {
                RawBsonRef::Boolean(v) => {
                    b.append_value(v);
                    true
                }
                _ => false,
            },
            (Builder::Date(b), _) => match value {
                RawBsonRef::DateTime(v) => {
                    b.append_value(v.timestamp_millis());
                    true
                }
                _ => false,
            },
            (Builder::Timestamp(b), _) => match value {
                RawBsonRef::Timestamp(v) => {
                    b.append_value(i64::from(v.time));
                    true
                }
                _ => false,
            },
            (Builder::Decimal(b), FieldType::Decimal { precision, scale }) => {
                let decoded = match value {
                    RawBsonRef::Decimal128(d) => Some(decimal::decode(d.bytes())),
                    RawBsonRef::Int32(v) => Some(integer(i64::from(v))),
                    RawBsonRef::Int64(v) => Some(integer(v)),
                    _ => None,
                };
                match decoded.and_then(|d| d.to_scaled(*precision, *scale)) {
                    Some(v) => {
                        b.append_value(v);
                        true
                    }
                    None => false,
                }
            }
            (Builder::Decimal(_), _) => false,
            (Builder::Binary(b), _) => match value {
                RawBsonRef::Binary(bin) => {
                    b.append_value(bin.bytes);
                    true
                }
                _ => false,
            },
            (
                Builder::List {
                    offsets,
                    nulls,
                    item,
                },
                _,
            ) => match value {
                RawBsonRef::Array(items) => {
                    for element in items {
                        item.append(element.map_err(|e| at.malformed(e))?, at)?;
                    }
                    let end = i32::try_from(item.len).map_err(|_| {
                        ConnectorError::Other(format!(
                            "{}: field `{}`: more than 2^31 list elements in one batch; \
                             lower batch_size",
                            at.document(),
                            self.path
                        ))
                    })?;
                    offsets.push(end);
                    nulls.append_non_null();
                    true
                }
                _ => false,
            },
            (Builder::Struct(s), _) => match value {
                RawBsonRef::Document(doc) => {
                    s.append_document(doc, at)?;
                    true
                }
                _ => false,
            },
        };
        if fitted {
            self.len += 1;
            return Ok(());
        }
        match at.policy {
            Policy::Null => {
                self.mismatches += 1;
                self.append_null();
                Ok(())
            }
            Policy::Fail => Err(ConnectorError::Other(format!(
                "{}: field `{}`: expected {}, found {}{} (set on_mismatch to \"null\" to read \
                 such values as null, or declare the field's type in `schema`)",
                at.document(),
                self.path,
                self.ty.name(),
                bson_type_name(value),
                if inexact(&self.ty, value) {
                    " that does not fit exactly"
                } else {
                    ""
                },
            ))),
        }
    }

    pub(super) fn finish(&mut self) -> Result<ArrayRef> {
        let context = || format!("field `{}`", self.path);
        let array: ArrayRef = match &mut self.builder {
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Double(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Decimal(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::List {
                offsets,
                nulls,
                item,
            } => {
                let FieldType::List(item_type) = &self.ty else {
                    return Err(ConnectorError::Other(format!("{}: not a list", context())));
                };
                let offsets = std::mem::replace(offsets, vec![0]);
                let values = item.finish()?;
                Arc::new(
                    ListArray::try_new(
                        Arc::new(item_type.field("item", true)),
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        values,
                        nulls.finish(),
                    )
                    .map_err(|e| ConnectorError::Arrow {
                        context: context(),
                        source: e,
                    })?,
                )
            }
            Builder::Struct(s) => Arc::new(s.finish(&context())?),
        };
        self.len = 0;
        Ok(array)
    }

    /// (path, count) of every column below and including this one that nulled values.
    pub(super) fn mismatch_counts(&self, out: &mut Vec<(String, u64)>) {
        if self.mismatches > 0 {
            out.push((self.path.clone(), self.mismatches));
        }
        match &self.builder {
            Builder::List { item, .. } => item.mismatch_counts(out),
            Builder::Struct(s) => {
                s.unknown_counts(out);
                s.children.iter().for_each(|c| c.mismatch_counts(out));
            }
            _ => {}
        }
    }
}

/// Whether `value` has the column's kind of number but not a value it can hold exactly.
fn inexact(ty: &FieldType, value: RawBsonRef<'_>) -> bool {
    matches!(
        (ty, value),
        (FieldType::Int32, RawBsonRef::Int64(_))
            | (
                FieldType::Decimal { .. },
                RawBsonRef::Decimal128(_) | RawBsonRef::Int32(_) | RawBsonRef::Int64(_)
            )
    )
}

/// An integer as a decimal with exponent 0.
fn integer(v: i64) -> Decimal {
    Decimal::Finite {
        negative: v < 0,
        coefficient: u128::from(v.unsigned_abs()),
        exponent: 0,
    }
}
