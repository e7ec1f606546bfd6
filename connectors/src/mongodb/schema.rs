//! The columns of a read: inferred from a sample of documents, or declared in `schema`.
//!
//! | BSON | Arrow |
//! |---|---|
//! | objectId | Utf8, 24 lowercase hex digits (metadata `mongodb.type` = `objectid`) |
//! | string | Utf8 |
//! | int | Int32; int and long mixed → Int64 |
//! | long | Int64 |
//! | double | Float64; any integer mixed with double → Float64 |
//! | bool | Boolean |
//! | date | Timestamp(Millisecond, "UTC") |
//! | timestamp (the internal oplog type) | Timestamp(Second, "UTC") of its seconds; the increment, an ordinal within the second, is dropped |
//! | decimal | Decimal128(38, s), s the largest scale seen (at most 38); integers mixed in are read exactly |
//! | object | Struct of the fields seen, merged across documents, all nullable (`nested: "json"`: Utf8 JSON) |
//! | array | List of the merged element type; empty arrays do not decide it (`nested: "json"`: Utf8 JSON) |
//! | binData | Binary (the subtype is dropped) |
//! | null, undefined, missing | null |
//! | anything else (regex, javascript, minKey, maxKey, symbol, dbPointer…), a field only ever null or an empty document, and incompatible mixes (a string in one document, an int in another) | Utf8 holding each value's relaxed extended JSON (`"abc"`, `5`, `{"$regularExpression": …}`; metadata `mongodb.type` = `json`) |
//!
//! Columns come in the order their fields were first seen, `_id` first.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use mongodb::bson::{RawBsonRef, RawDocument};

use super::decimal::{self, MAX_PRECISION};
use crate::{ConnectorError, Result};

/// Field metadata naming how a column was read from BSON, where Arrow's type alone does not say.
pub(super) const TYPE_METADATA: &str = "mongodb.type";

/// What a field is read as.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum FieldType {
    /// ObjectId → Utf8 hex.
    ObjectId,
    /// String → Utf8.
    String,
    /// Int32.
    Int32,
    /// Int64 (int32 values widen).
    Int64,
    /// Float64 (integers convert).
    Double,
    /// Boolean.
    Bool,
    /// BSON date → Timestamp(Millisecond, UTC).
    Date,
    /// BSON timestamp → Timestamp(Second, UTC).
    Timestamp,
    /// Decimal128(precision, scale).
    Decimal { precision: u8, scale: i8 },
    /// Binary.
    Binary,
    /// Any value as relaxed extended JSON text.
    Json,
    /// List of one element type.
    List(Box<FieldType>),
    /// Struct of named fields, in order.
    Struct(Vec<(String, FieldType)>),
}

impl FieldType {
    /// The Arrow type of the column.
    pub fn data_type(&self) -> DataType {
        match self {
            FieldType::ObjectId | FieldType::String | FieldType::Json => DataType::Utf8,
            FieldType::Int32 => DataType::Int32,
            FieldType::Int64 => DataType::Int64,
            FieldType::Double => DataType::Float64,
            FieldType::Bool => DataType::Boolean,
            FieldType::Date => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            FieldType::Timestamp => DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
            FieldType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            FieldType::Binary => DataType::Binary,
            FieldType::List(item) => DataType::List(Arc::new(item.field("item", true))),
            FieldType::Struct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }

    /// An Arrow field of this type, with the `mongodb.type` metadata where it applies.
    pub fn field(&self, name: &str, nullable: bool) -> Field {
        let field = Field::new(name, self.data_type(), nullable);
        match self {
            FieldType::ObjectId => field.with_metadata(HashMap::from([(
                TYPE_METADATA.to_string(),
                "objectid".to_string(),
            )])),
            FieldType::Json => field.with_metadata(HashMap::from([(
                TYPE_METADATA.to_string(),
                "json".to_string(),
            )])),
            _ => field,
        }
    }

    /// The name users write in `schema` (and read in error messages).
    pub fn name(&self) -> String {
        match self {
            FieldType::ObjectId => "objectid".into(),
            FieldType::String => "string".into(),
            FieldType::Int32 => "int32".into(),
            FieldType::Int64 => "int64".into(),
            FieldType::Double => "double".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Date => "date".into(),
            FieldType::Timestamp => "timestamp".into(),
            FieldType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            FieldType::Binary => "binary".into(),
            FieldType::Json => "json".into(),
            FieldType::List(item) => format!("[{}]", item.name()),
            FieldType::Struct(_) => "object".into(),
        }
    }
}

fn struct_fields(fields: &[(String, FieldType)]) -> Fields {
    fields
        .iter()
        .map(|(name, ty)| Arc::new(ty.field(name, true)))
        .collect::<Vec<_>>()
        .into()
}

/// The columns of a read and its key.
#[derive(Clone, Debug)]
pub(super) struct Columns {
    /// Top-level fields, in column order.
    pub fields: Vec<(String, FieldType)>,
    /// Position of the replication key in `fields`.
    pub key_index: usize,
}

impl Columns {
    /// The Arrow schema: the key column is not nullable and carries [`crate::KEY_METADATA`].
    pub fn schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                if i == self.key_index {
                    let field = ty.field(name, false);
                    let mut metadata = field.metadata().clone();
                    metadata.insert(crate::KEY_METADATA.to_string(), "true".to_string());
                    field.with_metadata(metadata)
                } else {
                    ty.field(name, true)
                }
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The key's type.
    pub fn key_type(&self) -> &FieldType {
        &self.fields[self.key_index].1
    }
}

/// How nested documents and arrays are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Nesting {
    /// Struct and List columns.
    Typed,
    /// Utf8 relaxed extended JSON.
    Json,
}

/// A field's type as seen so far in the sample.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    /// Only null, undefined, or (for array elements) nothing yet.
    Nothing,
    ObjectId,
    String,
    Int32,
    Int64,
    Double,
    Bool,
    Date,
    Timestamp,
    /// Decimal128 with the largest scale seen.
    Decimal(i8),
    Binary,
    /// A type with no column of its own, or a mix that no type holds.
    Json,
    Array(Box<Seen>),
    Document(Vec<(String, Seen)>),
}

impl Seen {
    fn of(value: RawBsonRef<'_>) -> std::result::Result<Seen, String> {
        Ok(match value {
            RawBsonRef::Null | RawBsonRef::Undefined => Seen::Nothing,
            RawBsonRef::ObjectId(_) => Seen::ObjectId,
            RawBsonRef::String(_) => Seen::String,
            RawBsonRef::Int32(_) => Seen::Int32,
            RawBsonRef::Int64(_) => Seen::Int64,
            RawBsonRef::Double(_) => Seen::Double,
            RawBsonRef::Boolean(_) => Seen::Bool,
            RawBsonRef::DateTime(_) => Seen::Date,
            RawBsonRef::Timestamp(_) => Seen::Timestamp,
            RawBsonRef::Decimal128(d) => Seen::Decimal(decimal::decode(d.bytes()).scale()),
            RawBsonRef::Binary(_) => Seen::Binary,
            RawBsonRef::Array(items) => {
                let mut item = Seen::Nothing;
                for value in items {
                    item = item.merge(Seen::of(value.map_err(|e| e.to_string())?)?);
                }
                Seen::Array(Box::new(item))
            }
            RawBsonRef::Document(doc) => Seen::Document(Vec::new()).with_document(doc)?,
            _ => Seen::Json,
        })
    }

    /// Merge the fields of `doc` into this document type.
    fn with_document(self, doc: &RawDocument) -> std::result::Result<Seen, String> {
        let Seen::Document(mut fields) = self else {
            return Ok(self);
        };
        for element in doc {
            let (name, value) = element.map_err(|e| e.to_string())?;
            let seen = Seen::of(value)?;
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some((_, existing)) => {
                    let previous = std::mem::replace(existing, Seen::Nothing);
                    *existing = previous.merge(seen);
                }
                None => fields.push((name.to_string(), seen)),
            }
        }
        Ok(Seen::Document(fields))
    }

    /// The type that holds values of both.
    fn merge(self, other: Seen) -> Seen {
        use Seen::*;
        match (self, other) {
            (Nothing, x) | (x, Nothing) => x,
            (Int32, Int64) | (Int64, Int32) => Int64,
            (Int32 | Int64 | Double, Double) | (Double, Int32 | Int64) => Double,
            (Decimal(a), Decimal(b)) => Decimal(a.max(b)),
            (Decimal(s), Int32 | Int64) | (Int32 | Int64, Decimal(s)) => Decimal(s),
            (Array(a), Array(b)) => Array(Box::new(a.merge(*b))),
            (Document(mut a), Document(b)) => {
                for (name, seen) in b {
                    match a.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, existing)) => {
                            let previous = std::mem::replace(existing, Nothing);
                            *existing = previous.merge(seen);
                        }
                        None => a.push((name, seen)),
                    }
                }
                Document(a)
            }
            (a, b) if a == b => a,
            _ => Json,
        }
    }

    fn field_type(self, nesting: Nesting) -> FieldType {
        match self {
            Seen::Nothing | Seen::Json => FieldType::Json,
            Seen::ObjectId => FieldType::ObjectId,
            Seen::String => FieldType::String,
            Seen::Int32 => FieldType::Int32,
            Seen::Int64 => FieldType::Int64,
            Seen::Double => FieldType::Double,
            Seen::Bool => FieldType::Bool,
            Seen::Date => FieldType::Date,
            Seen::Timestamp => FieldType::Timestamp,
            Seen::Decimal(scale) => FieldType::Decimal {
                precision: MAX_PRECISION,
                scale,
            },
            Seen::Binary => FieldType::Binary,
            Seen::Array(_) | Seen::Document(_) if nesting == Nesting::Json => FieldType::Json,
            Seen::Array(item) => FieldType::List(Box::new(item.field_type(nesting))),
            // A document never seen with a field has no columns to hold.
            Seen::Document(fields) if fields.is_empty() => FieldType::Json,
            Seen::Document(fields) => FieldType::Struct(
                fields
                    .into_iter()
                    .map(|(name, seen)| (name, seen.field_type(nesting)))
                    .collect(),
            ),
        }
    }
}

/// Infers the columns from sampled documents.
pub(super) struct Inference {
    fields: Seen,
    documents: usize,
}

impl Default for Inference {
    fn default() -> Self {
        Self {
            fields: Seen::Document(Vec::new()),
            documents: 0,
        }
    }
}

impl Inference {
    /// Account for one sampled document; an error describes a malformed document.
    pub fn add(&mut self, doc: &RawDocument) -> std::result::Result<(), String> {
        let fields = std::mem::replace(&mut self.fields, Seen::Nothing);
        self.fields = fields.with_document(doc)?;
        self.documents += 1;
        Ok(())
    }

    /// Documents sampled.
    pub fn documents(&self) -> usize {
        self.documents
    }

    /// The columns (`_id` first, then first-seen order) and the key. `key_error` builds the
    /// error for a key that is missing from every sampled document or holds several types.
    pub fn finish(
        self,
        key: &str,
        nesting: Nesting,
        key_error: impl Fn(String) -> ConnectorError,
    ) -> Result<Columns> {
        let Seen::Document(mut seen) = self.fields else {
            return Err(key_error("the sample is not a document".into()));
        };
        if let Some(at) = seen.iter().position(|(name, _)| name == "_id") {
            let id = seen.remove(at);
            seen.insert(0, id);
        }
        let key_index = seen
            .iter()
            .position(|(name, s)| name == key && *s != Seen::Nothing)
            .ok_or_else(|| {
                key_error(format!(
                    "none of the {} sampled documents has a value for `{key}`",
                    self.documents
                ))
            })?;
        let key_type = match &seen[key_index].1 {
            Seen::ObjectId => FieldType::ObjectId,
            Seen::String => FieldType::String,
            // Integer keys are read as Int64 whatever the sample held, so a later long fits.
            Seen::Int32 | Seen::Int64 => FieldType::Int64,
            Seen::Date => FieldType::Date,
            Seen::Json => {
                return Err(key_error(format!(
                    "`{key}` holds values of several BSON types in the sample (or of a type \
                     that cannot be a key); keyset pagination needs one type (select one with \
                     `filter`, e.g. \
                     {{\"{key}\": {{\"$type\": \"objectId\"}}}})"
                )))
            }
            other => {
                return Err(key_error(format!(
                    "`{key}` holds {} values; the replication key must be an objectId, \
                     string, integer or date",
                    other.clone().field_type(nesting).name()
                )))
            }
        };
        let mut fields: Vec<(String, FieldType)> = seen
            .into_iter()
            .map(|(name, s)| {
                let ty = s.field_type(nesting);
                (name, ty)
            })
            .collect();
        fields[key_index].1 = key_type;
        Ok(Columns { fields, key_index })
    }
}

/// Index of each name in `fields`, for finding a document's field by name.
pub(super) fn name_index(fields: &[(String, FieldType)]) -> HashMap<String, usize> {
    fields
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, Bson, RawDocumentBuf};

    fn infer(docs: &[mongodb::bson::Document], nesting: Nesting) -> Result<Columns> {
        let mut inference = Inference::default();
        for d in docs {
            inference
                .add(&RawDocumentBuf::from_document(d).unwrap())
                .unwrap();
        }
        inference.finish("_id", nesting, |m| ConnectorError::config("k", m))
    }

    fn types(columns: &Columns) -> Vec<(String, String)> {
        columns
            .fields
            .iter()
            .map(|(n, t)| (n.clone(), t.name()))
            .collect()
    }

    #[test]
    fn sampled_types_merge() {
        let d128 = |s: &str| Bson::Decimal128(s.parse().unwrap());
        let regex = Bson::RegularExpression(mongodb::bson::Regex {
            pattern: "^a".into(),
            options: "i".into(),
        });
        let docs = [
            doc! { "a": 1, "b": 1, "c": "x", "n": null, "_id": 1, "dec": d128("1.5"),
            "tags": [], "addr": { "city": "Paris" }, "mixed": 1, "deep": [[1]] },
            doc! { "_id": 2, "a": 1_i64 << 40, "b": 2.5, "c": "y", "tags": ["t"],
            "addr": { "zip": 75001 }, "mixed": "one", "dec": d128("2.125"), "deep": [[2.5]],
            "late": true },
            doc! { "_id": 3, "dec": 7, "tags": [null, "u"], "addr": null, "rx": regex },
        ];
        let columns = infer(&docs, Nesting::Typed).unwrap();
        assert_eq!(columns.key_index, 0);
        assert_eq!(
            types(&columns),
            [
                ("_id", "int64"),
                ("a", "int64"),
                ("b", "double"),
                ("c", "string"),
                ("n", "json"),
                ("dec", "decimal(38,3)"),
                ("tags", "[string]"),
                ("addr", "object"),
                ("mixed", "json"),
                ("deep", "[[double]]"),
                ("late", "bool"),
                ("rx", "json"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let FieldType::Struct(addr) = &columns.fields[7].1 else {
            panic!("addr is a struct")
        };
        assert_eq!(
            addr,
            &[
                ("city".to_string(), FieldType::String),
                ("zip".to_string(), FieldType::Int32)
            ]
        );
        let json = infer(&docs, Nesting::Json).unwrap();
        assert_eq!(json.fields[6].1, FieldType::Json);
        assert_eq!(json.fields[7].1, FieldType::Json);
    }

    #[test]
    fn arrays_of_documents_and_empty_things() {
        let docs = [
            doc! { "_id": "a", "items": [{ "sku": "x", "qty": 1 }], "empty": {}, "never": [] },
            doc! { "_id": "b", "items": [{ "sku": "y", "price": 2.5 }, { "qty": 3 }] },
        ];
        let columns = infer(&docs, Nesting::Typed).unwrap();
        assert_eq!(columns.fields[0].1, FieldType::String);
        assert_eq!(
            columns.fields[1].1,
            FieldType::List(Box::new(FieldType::Struct(vec![
                ("sku".into(), FieldType::String),
                ("qty".into(), FieldType::Int32),
                ("price".into(), FieldType::Double),
            ])))
        );
        assert_eq!(
            columns.fields[2].1,
            FieldType::Json,
            "an always-empty document"
        );
        assert_eq!(
            columns.fields[3].1,
            FieldType::List(Box::new(FieldType::Json)),
            "an always-empty array"
        );
        let schema = columns.schema();
        assert!(!schema.field(0).is_nullable());
        assert_eq!(
            schema.field(0).metadata().get(crate::KEY_METADATA),
            Some(&"true".to_string())
        );
        assert_eq!(
            schema.field(2).metadata().get(TYPE_METADATA),
            Some(&"json".to_string())
        );
    }

    #[test]
    fn the_key_must_hold_one_orderable_type() {
        let mixed = [doc! { "_id": 1 }, doc! { "_id": "one" }];
        let e = infer(&mixed, Nesting::Typed).unwrap_err().to_string();
        assert!(e.contains("several BSON types"), "{e}");
        let doubles = [doc! { "_id": 1.5 }];
        let e = infer(&doubles, Nesting::Typed).unwrap_err().to_string();
        assert!(e.contains("holds double values"), "{e}");
        let absent = [doc! { "x": 1 }, doc! { "_id": null }];
        let e = infer(&absent, Nesting::Typed).unwrap_err().to_string();
        assert!(e.contains("none of the 2 sampled documents"), "{e}");
        let int32 = [doc! { "_id": 1, "x": 1 }];
        let columns = infer(&int32, Nesting::Typed).unwrap();
        assert_eq!(columns.key_type(), &FieldType::Int64, "integer keys widen");
        assert_eq!(columns.fields[1].1, FieldType::Int32);
    }
}
