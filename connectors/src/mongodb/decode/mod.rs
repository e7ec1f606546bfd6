//! BSON documents → Arrow record batches, in one pass per page.
//!
//! Each column holds a typed Arrow builder chosen once from its [`FieldType`]; a document's
//! fields are appended straight from the raw BSON the server sent (no intermediate `Document`).
//! Fields not in the schema are ignored. A value that does not fit its column follows the
//! [`Policy`]: the read fails naming the collection, the document's `_id`, the field's path and
//! both types, or the value becomes null and is counted per field.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Decimal128Builder, Float64Builder, Int32Builder,
    Int64Builder, ListArray, NullBufferBuilder, RecordBatch, StringBuilder, StructArray,
    TimestampMillisecondBuilder, TimestampSecondBuilder,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{Fields, SchemaRef};
use mongodb::bson::{Bson, RawBsonRef, RawDocument};

use super::config::SECTION;
use super::decimal::{self, Decimal};
use super::schema::{Columns, FieldType};
use crate::{ConnectorError, Result};

/// Bytes reserved per row for a string or binary column.
const BYTES_PER_ROW_HINT: usize = 16;

/// What happens to a value that does not fit its column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Policy {
    /// The read fails, naming the document and the field.
    Fail,
    /// The value is read as null and counted.
    Null,
}

/// The document being decoded, for messages.
pub(super) struct At<'a> {
    /// `db.collection`.
    pub collection: &'a str,
    /// The replication key, naming documents read without `_id`.
    pub key: &'a str,
    /// Whether the schema was inferred from a sample (fields it lacks follow the policy)
    /// rather than declared (fields it lacks are not read).
    pub inferred: bool,
    pub doc: &'a RawDocument,
    pub policy: Policy,
}

impl At<'_> {
    /// `source.mongodb: db.coll: document _id=…`.
    fn document(&self) -> String {
        format!(
            "{SECTION}: {}: document {}",
            self.collection,
            describe_doc(self.doc, self.key)
        )
    }

    fn malformed(&self, e: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::Other(format!("{}: malformed BSON: {e}", self.document()))
    }
}

/// Names `doc` in messages: `_id=…` (the hex of an ObjectId, a quoted string, else extended
/// JSON), or `{key}=…` when `_id` was not read (a projection without it).
pub(super) fn describe_doc(doc: &RawDocument, key: &str) -> String {
    let show = |value: RawBsonRef<'_>| match value {
        RawBsonRef::ObjectId(oid) => oid.to_hex(),
        RawBsonRef::String(s) => format!("{s:?}"),
        other => Bson::try_from(other)
            .map(|b| b.into_relaxed_extjson().to_string())
            .unwrap_or_else(|_| "(malformed)".into()),
    };
    match (doc.get("_id"), doc.get(key)) {
        (Ok(Some(id)), _) => format!("_id={}", show(id)),
        (_, Ok(Some(value))) => format!("{key}={}", show(value)),
        (Err(_), _) => "_id=(malformed)".into(),
        _ => format!("(no _id, no {key})"),
    }
}

/// MongoDB's name of a value's type (the `$type` aliases).
pub(super) fn bson_type_name(value: RawBsonRef<'_>) -> &'static str {
    match value {
        RawBsonRef::Double(_) => "double",
        RawBsonRef::String(_) => "string",
        RawBsonRef::Document(_) => "object",
        RawBsonRef::Array(_) => "array",
        RawBsonRef::Binary(_) => "binData",
        RawBsonRef::Undefined => "undefined",
        RawBsonRef::ObjectId(_) => "objectId",
        RawBsonRef::Boolean(_) => "bool",
        RawBsonRef::DateTime(_) => "date",
        RawBsonRef::Null => "null",
        RawBsonRef::RegularExpression(_) => "regex",
        RawBsonRef::DbPointer(_) => "dbPointer",
        RawBsonRef::JavaScriptCode(_) => "javascript",
        RawBsonRef::Symbol(_) => "symbol",
        RawBsonRef::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        RawBsonRef::Int32(_) => "int",
        RawBsonRef::Timestamp(_) => "timestamp",
        RawBsonRef::Int64(_) => "long",
        RawBsonRef::Decimal128(_) => "decimal",
        RawBsonRef::MinKey => "minKey",
        RawBsonRef::MaxKey => "maxKey",
    }
}

/// A value's relaxed extended JSON text.
fn json_text(value: RawBsonRef<'_>, at: &At<'_>) -> Result<String> {
    let bson = Bson::try_from(value).map_err(|e| at.malformed(e))?;
    serde_json::to_string(&bson.into_relaxed_extjson()).map_err(|e| at.malformed(e))
}

/// Lowercase hex of an ObjectId, without allocating.
fn hex(bytes: [u8; 12]) -> [u8; 24] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 24];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

/// One column (at any depth): its builder, its path for messages and its mismatch count.
struct Column {
    /// `address.city`, `tags[]`.
    path: String,
    ty: FieldType,
    len: usize,
    mismatches: u64,
    builder: Builder,
}

enum Builder {
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
    fn new(path: String, ty: &FieldType, capacity: usize) -> Result<Self> {
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

    fn append_null(&mut self) {
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
    fn append(&mut self, value: RawBsonRef<'_>, at: &At<'_>) -> Result<()> {
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

    fn finish(&mut self) -> Result<ArrayRef> {
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
    fn mismatch_counts(&self, out: &mut Vec<(String, u64)>) {
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

/// The fields of a document (the top level or a nested one).
struct StructColumns {
    fields: Fields,
    names: Vec<String>,
    index: HashMap<String, usize>,
    children: Vec<Column>,
    /// Which children got a value from the current document.
    filled: Vec<bool>,
    nulls: NullBufferBuilder,
    len: usize,
    /// The nested document's path (`None` at the top level), for fields not in the schema.
    parent: Option<String>,
    /// Fields met that the schema does not have, with their counts (`Policy::Null`).
    unknown: std::collections::BTreeMap<String, u64>,
}

impl StructColumns {
    /// `parent`: the path of the nested document (`None` at the top level).
    fn new(parent: Option<&str>, fields: &[(String, FieldType)], capacity: usize) -> Result<Self> {
        let mut children = Vec::with_capacity(fields.len());
        for (name, ty) in fields {
            let path = match parent {
                Some(p) => format!("{p}.{name}"),
                None => name.clone(),
            };
            children.push(Column::new(path, ty, capacity)?);
        }
        let arrow_fields: Fields = fields
            .iter()
            .map(|(name, ty)| Arc::new(ty.field(name, true)))
            .collect::<Vec<_>>()
            .into();
        Ok(Self {
            fields: arrow_fields,
            names: fields.iter().map(|(n, _)| n.clone()).collect(),
            index: super::schema::name_index(fields),
            filled: vec![false; fields.len()],
            children,
            nulls: NullBufferBuilder::new(capacity),
            len: 0,
            parent: parent.map(str::to_string),
            unknown: Default::default(),
        })
    }

    /// A field of the current document that the schema lacks: an error, or counted.
    fn unknown_field(&mut self, name: &str, at: &At<'_>) -> Result<()> {
        let path = match &self.parent {
            Some(p) => format!("{p}.{name}"),
            None => name.to_string(),
        };
        match at.policy {
            Policy::Null => {
                *self.unknown.entry(path).or_default() += 1;
                Ok(())
            }
            Policy::Fail => Err(ConnectorError::Other(format!(
                "{}: field `{path}` is not in the schema inferred from the first documents \
                 (raise `sample_size`, declare the columns in `schema`, or set on_mismatch to \
                 \"null\" to leave such fields out and count them)",
                at.document()
            ))),
        }
    }

    /// Fields left out because the schema lacks them, as `(path (not in the schema), count)`.
    fn unknown_counts(&self, out: &mut Vec<(String, u64)>) {
        for (path, count) in &self.unknown {
            out.push((format!("{path} (not in the schema)"), *count));
        }
    }

    fn append_null(&mut self) {
        for child in &mut self.children {
            child.append_null();
        }
        self.nulls.append_null();
        self.len += 1;
    }

    fn append_document(&mut self, doc: &RawDocument, at: &At<'_>) -> Result<()> {
        self.filled.iter_mut().for_each(|f| *f = false);
        // Documents usually repeat one field order: try the next column before the map.
        let mut next = 0;
        for element in doc {
            let (name, value) = element.map_err(|e| at.malformed(e))?;
            let i = if self.names.get(next).is_some_and(|n| n == name) {
                next
            } else {
                match self.index.get(name) {
                    Some(&i) => i,
                    // Not in the schema: a declared schema reads only what it names; an
                    // inferred one did not see this field in the sample.
                    None => {
                        if at.inferred {
                            self.unknown_field(name, at)?;
                        }
                        continue;
                    }
                }
            };
            next = i + 1;
            // A repeated field name: the first value wins.
            if std::mem::replace(&mut self.filled[i], true) {
                continue;
            }
            self.children[i].append(value, at)?;
        }
        for (child, filled) in self.children.iter_mut().zip(&self.filled) {
            if !filled {
                child.append_null();
            }
        }
        self.nulls.append_non_null();
        self.len += 1;
        Ok(())
    }

    /// The nested documents as one array; `context` names the field in errors.
    fn finish(&mut self, context: &str) -> Result<StructArray> {
        let mut arrays = Vec::with_capacity(self.children.len());
        for child in &mut self.children {
            arrays.push(child.finish()?);
        }
        let len = std::mem::take(&mut self.len);
        StructArray::try_new_with_length(self.fields.clone(), arrays, self.nulls.finish(), len)
            .map_err(|e| ConnectorError::Arrow {
                context: context.to_string(),
                source: e,
            })
    }
}

/// Decodes pages of documents into record batches of one schema.
pub(super) struct BatchDecoder {
    schema: SchemaRef,
    root: StructColumns,
    collection: String,
    key: String,
    inferred: bool,
    policy: Policy,
}

impl BatchDecoder {
    /// Builders for `columns`, sized for `capacity` documents; `collection` (`db.coll`) names
    /// the documents in errors.
    pub fn new(
        columns: &Columns,
        capacity: usize,
        collection: String,
        policy: Policy,
        inferred: bool,
    ) -> Result<Self> {
        Ok(Self {
            schema: columns.schema(),
            root: StructColumns::new(None, &columns.fields, capacity)?,
            collection,
            key: columns.fields[columns.key_index].0.clone(),
            inferred,
            policy,
        })
    }

    /// Documents decoded since the last batch.
    pub fn len(&self) -> usize {
        self.root.len
    }

    /// Decode one document.
    pub fn push(&mut self, doc: &RawDocument) -> Result<()> {
        let at = At {
            collection: &self.collection,
            key: &self.key,
            inferred: self.inferred,
            doc,
            policy: self.policy,
        };
        self.root.append_document(doc, &at)
    }

    /// The documents pushed since the last batch, as one batch.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let context = || format!("{}: building a batch", self.collection);
        let mut columns = Vec::with_capacity(self.root.children.len());
        for child in &mut self.root.children {
            columns.push(child.finish()?);
        }
        self.root.len = 0;
        // The top level is never null; its null buffer only needs resetting.
        let _ = self.root.nulls.finish();
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| ConnectorError::Arrow {
            context: context(),
            source: e,
        })
    }

    /// Values read as null because they did not fit, and fields left out because the
    /// inferred schema lacks them, per field path (`Policy::Null`).
    pub fn mismatches(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        self.root.unknown_counts(&mut out);
        for child in &self.root.children {
            child.mismatch_counts(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests;
