//! BSON documents → Arrow record batches, in one pass per page.
//!
//! Each column holds a typed Arrow builder chosen once from its [`FieldType`]; a document's
//! fields are appended straight from the raw BSON the server sent (no intermediate `Document`).
//! Fields not in the schema are ignored. A value that does not fit its column follows the
//! [`Policy`]: the read fails naming the collection, the document's `_id`, the field's path and
//! both types, or the value becomes null and is counted per field.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use mongodb::bson::{Bson, RawBsonRef, RawDocument};

use super::config::SECTION;
use super::schema::Columns;
use crate::{ConnectorError, Result};
use document::StructColumns;

mod column;
mod document;

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
