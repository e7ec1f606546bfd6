//! BigQuery column types → Arrow types (the REST API's text values are parsed in
//! [`super::values`]).
//!
//! | BigQuery | Arrow |
//! |---|---|
//! | INT64 | Int64 |
//! | FLOAT64 | Float64 (`NaN`, `Infinity`, `-Infinity` included) |
//! | NUMERIC | Decimal128(38, 9) |
//! | BIGNUMERIC | Decimal256(76, 38) (the whole BIGNUMERIC range, as BigQuery's own Arrow export) |
//! | BOOL | Boolean |
//! | STRING | Utf8 |
//! | BYTES | Binary (base64 on the wire) |
//! | DATE | Date32 |
//! | DATETIME | Timestamp(µs, no time zone) |
//! | TIMESTAMP | Timestamp(µs, "UTC") |
//! | TIME | Time64(µs) |
//! | JSON | Utf8 marked with the `arrow.json` extension |
//! | GEOGRAPHY | Utf8 (WKT) |
//! | INTERVAL, RANGE<T> | Utf8, BigQuery's canonical text (`1-2 3 4:5:6.789`, `[2024-01-01, 2024-02-01)`) |
//! | REPEATED T | List<T> (not null: BigQuery has no NULL arrays, an absent one is empty) |
//! | RECORD / STRUCT | Struct, recursively |
//!
//! Non-obvious columns (JSON, GEOGRAPHY, INTERVAL, RANGE) carry their BigQuery type in the field
//! metadata under [`TYPE_KEY`]. Nullability follows the field's mode.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use serde::Deserialize;

/// Field metadata key holding the BigQuery type of columns whose Arrow type does not say it.
pub(crate) const TYPE_KEY: &str = "bigquery.type";
/// Arrow's canonical extension-name metadata key, and the JSON extension's name.
const EXTENSION_NAME_KEY: &str = "ARROW:extension:name";
const JSON_EXTENSION: &str = "arrow.json";
/// Time zone of TIMESTAMP columns.
pub(super) const UTC: &str = "UTC";
/// Name of a list's element field.
const ITEM: &str = "item";

/// NUMERIC: 38 digits, 9 after the point.
pub(super) const NUMERIC_PRECISION: u8 = 38;
pub(super) const NUMERIC_SCALE: i8 = 9;
/// BIGNUMERIC: 76 (and a bit) digits, 38 after the point.
pub(super) const BIGNUMERIC_PRECISION: u8 = 76;
pub(super) const BIGNUMERIC_SCALE: i8 = 38;

/// A table's or a query result's columns, as the REST API describes them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub(super) struct TableSchema {
    /// The top-level columns.
    #[serde(default)]
    pub fields: Vec<FieldSchema>,
}

/// One column (or a RECORD's sub-field).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct FieldSchema {
    /// Column name.
    pub name: String,
    /// BigQuery type name (`INTEGER`, `INT64`, `RECORD`, …).
    #[serde(rename = "type")]
    pub field_type: String,
    /// `NULLABLE` (default), `REQUIRED` or `REPEATED`.
    #[serde(default)]
    pub mode: Option<String>,
    /// A RECORD's sub-fields.
    #[serde(default)]
    pub fields: Option<Vec<FieldSchema>>,
    /// A RANGE's element type.
    #[serde(default)]
    pub range_element_type: Option<RangeElementType>,
}

/// The element type of a RANGE column.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub(super) struct RangeElementType {
    /// `DATE`, `DATETIME` or `TIMESTAMP`.
    #[serde(rename = "type")]
    pub element_type: String,
}

/// How a column's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Int64,
    Float64,
    Numeric,
    BigNumeric,
    Bool,
    String,
    Bytes,
    Date,
    Datetime,
    Timestamp,
    Time,
    Json,
    Geography,
    Interval,
    Range,
    Record,
}

impl Kind {
    /// The kind of a BigQuery type name (legacy and standard-SQL spellings).
    pub fn of(type_name: &str) -> Option<Kind> {
        Some(match type_name.to_ascii_uppercase().as_str() {
            "INTEGER" | "INT64" => Kind::Int64,
            "FLOAT" | "FLOAT64" => Kind::Float64,
            "NUMERIC" | "DECIMAL" => Kind::Numeric,
            "BIGNUMERIC" | "BIGDECIMAL" => Kind::BigNumeric,
            "BOOLEAN" | "BOOL" => Kind::Bool,
            "STRING" => Kind::String,
            "BYTES" => Kind::Bytes,
            "DATE" => Kind::Date,
            "DATETIME" => Kind::Datetime,
            "TIMESTAMP" => Kind::Timestamp,
            "TIME" => Kind::Time,
            "JSON" => Kind::Json,
            "GEOGRAPHY" => Kind::Geography,
            "INTERVAL" => Kind::Interval,
            "RANGE" => Kind::Range,
            "RECORD" | "STRUCT" => Kind::Record,
            _ => return None,
        })
    }

    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Int64 => "INT64",
            Kind::Float64 => "FLOAT64",
            Kind::Numeric => "NUMERIC",
            Kind::BigNumeric => "BIGNUMERIC",
            Kind::Bool => "BOOL",
            Kind::String => "STRING",
            Kind::Bytes => "BYTES",
            Kind::Date => "DATE",
            Kind::Datetime => "DATETIME",
            Kind::Timestamp => "TIMESTAMP",
            Kind::Time => "TIME",
            Kind::Json => "JSON",
            Kind::Geography => "GEOGRAPHY",
            Kind::Interval => "INTERVAL",
            Kind::Range => "RANGE",
            Kind::Record => "RECORD",
        }
    }
}

impl FieldSchema {
    /// The column's kind; an unknown type name is an error naming the column.
    pub fn kind(&self) -> Result<Kind, String> {
        Kind::of(&self.field_type).ok_or_else(|| {
            format!(
                "column `{}` has the type {}, which this source does not know",
                self.name, self.field_type
            )
        })
    }

    /// `REPEATED` mode.
    pub fn is_repeated(&self) -> bool {
        self.mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("REPEATED"))
    }

    /// `REQUIRED` mode.
    pub fn is_required(&self) -> bool {
        self.mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("REQUIRED"))
    }

    /// A RECORD's sub-fields (an error for a RECORD without any).
    pub fn children(&self) -> Result<&[FieldSchema], String> {
        match self.fields.as_deref() {
            Some(fields) if !fields.is_empty() => Ok(fields),
            _ => Err(format!("RECORD column `{}` has no sub-fields", self.name)),
        }
    }
}

/// The Arrow field of a BigQuery column.
pub(super) fn arrow_field(field: &FieldSchema) -> Result<Field, String> {
    let kind = field.kind()?;
    let value_type = value_type(field, kind)?;
    let mut metadata = HashMap::new();
    let type_name = match kind {
        Kind::Range => Some(format!(
            "RANGE<{}>",
            field
                .range_element_type
                .as_ref()
                .map(|r| r.element_type.to_ascii_uppercase())
                .unwrap_or_else(|| "?".into())
        )),
        Kind::Json | Kind::Geography | Kind::Interval => Some(kind.name().to_string()),
        _ => None,
    };
    if let Some(type_name) = type_name {
        metadata.insert(TYPE_KEY.to_string(), type_name);
    }
    let value_metadata: HashMap<String, String> = if kind == Kind::Json {
        HashMap::from([(EXTENSION_NAME_KEY.to_string(), JSON_EXTENSION.to_string())])
    } else {
        HashMap::new()
    };
    if field.is_repeated() {
        let item = Field::new(ITEM, value_type, false).with_metadata(value_metadata);
        Ok(Field::new(&field.name, DataType::List(Arc::new(item)), false).with_metadata(metadata))
    } else {
        metadata.extend(value_metadata);
        Ok(Field::new(&field.name, value_type, !field.is_required()).with_metadata(metadata))
    }
}

/// The Arrow type of one value of the column (the element type of a REPEATED column).
fn value_type(field: &FieldSchema, kind: Kind) -> Result<DataType, String> {
    Ok(match kind {
        Kind::Int64 => DataType::Int64,
        Kind::Float64 => DataType::Float64,
        Kind::Numeric => DataType::Decimal128(NUMERIC_PRECISION, NUMERIC_SCALE),
        Kind::BigNumeric => DataType::Decimal256(BIGNUMERIC_PRECISION, BIGNUMERIC_SCALE),
        Kind::Bool => DataType::Boolean,
        Kind::String | Kind::Json | Kind::Geography | Kind::Interval | Kind::Range => {
            DataType::Utf8
        }
        Kind::Bytes => DataType::Binary,
        Kind::Date => DataType::Date32,
        Kind::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        Kind::Time => DataType::Time64(TimeUnit::Microsecond),
        Kind::Record => {
            let children = field
                .children()?
                .iter()
                .map(arrow_field)
                .collect::<Result<Vec<_>, _>>()?;
            DataType::Struct(Fields::from(children))
        }
    })
}

/// The Arrow schema of a list of columns.
pub(super) fn arrow_schema(fields: &[FieldSchema]) -> Result<SchemaRef, String> {
    let fields = fields
        .iter()
        .map(arrow_field)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(value: serde_json::Value) -> FieldSchema {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn every_type_maps_to_its_arrow_type() {
        let cases = [
            ("INTEGER", DataType::Int64),
            ("INT64", DataType::Int64),
            ("FLOAT", DataType::Float64),
            ("NUMERIC", DataType::Decimal128(38, 9)),
            ("BIGNUMERIC", DataType::Decimal256(76, 38)),
            ("BOOLEAN", DataType::Boolean),
            ("STRING", DataType::Utf8),
            ("BYTES", DataType::Binary),
            ("DATE", DataType::Date32),
            ("DATETIME", DataType::Timestamp(TimeUnit::Microsecond, None)),
            (
                "TIMESTAMP",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            ("TIME", DataType::Time64(TimeUnit::Microsecond)),
            ("JSON", DataType::Utf8),
            ("GEOGRAPHY", DataType::Utf8),
            ("INTERVAL", DataType::Utf8),
        ];
        for (name, expected) in cases {
            let f = arrow_field(&field(serde_json::json!({ "name": "c", "type": name }))).unwrap();
            assert_eq!(f.data_type(), &expected, "{name}");
            assert!(f.is_nullable(), "{name}: NULLABLE by default");
        }
        let json = arrow_field(&field(serde_json::json!({ "name": "j", "type": "JSON" }))).unwrap();
        assert_eq!(
            json.metadata().get(EXTENSION_NAME_KEY).map(String::as_str),
            Some("arrow.json")
        );
        let range = arrow_field(&field(serde_json::json!({
            "name": "r", "type": "RANGE", "rangeElementType": { "type": "DATE" } })))
        .unwrap();
        assert_eq!(range.data_type(), &DataType::Utf8);
        assert_eq!(
            range.metadata().get(TYPE_KEY).map(String::as_str),
            Some("RANGE<DATE>")
        );
        let required = arrow_field(&field(
            serde_json::json!({ "name": "i", "type": "INT64", "mode": "REQUIRED" }),
        ))
        .unwrap();
        assert!(!required.is_nullable());
        let unknown = arrow_field(&field(serde_json::json!({ "name": "x", "type": "BLOB" })));
        assert!(unknown
            .unwrap_err()
            .contains("column `x` has the type BLOB"));
    }

    #[test]
    fn repeated_and_records_nest() {
        let f = arrow_field(&field(serde_json::json!({
            "name": "rrec", "type": "RECORD", "mode": "REPEATED", "fields": [
                { "name": "k", "type": "STRING", "mode": "REQUIRED" },
                { "name": "tags", "type": "JSON", "mode": "REPEATED" },
                { "name": "sub", "type": "RECORD", "fields": [{ "name": "x", "type": "INT64" }] }
            ] })))
        .unwrap();
        assert!(!f.is_nullable(), "a REPEATED column is never NULL");
        let DataType::List(item) = f.data_type() else {
            panic!("{f:?}")
        };
        assert!(!item.is_nullable());
        let DataType::Struct(children) = item.data_type() else {
            panic!("{item:?}")
        };
        assert_eq!(children.len(), 3);
        assert_eq!(children[0].data_type(), &DataType::Utf8);
        assert!(!children[0].is_nullable());
        let DataType::List(tag) = children[1].data_type() else {
            panic!()
        };
        assert_eq!(
            tag.metadata().get(EXTENSION_NAME_KEY).map(String::as_str),
            Some("arrow.json")
        );
        let DataType::Struct(sub) = children[2].data_type() else {
            panic!()
        };
        assert_eq!(sub[0].data_type(), &DataType::Int64);
        let empty = arrow_field(&field(serde_json::json!({ "name": "r", "type": "RECORD" })));
        assert!(empty.unwrap_err().contains("no sub-fields"));
    }
}
