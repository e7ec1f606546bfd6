//! Columns declared in `schema` instead of inferred: `{"_id": "objectid", "qty": "int64",
//! "price": "decimal(18,2)", "tags": ["string"], "address": {"city": "string"}}` — a string
//! names a scalar type, a one-element array is a list of that type, an object a nested
//! document; fields come in the object's order.

use super::decimal::MAX_PRECISION;
use super::schema::{Columns, FieldType};
use crate::{ConnectorError, Result};

/// The columns declared in `schema`: `{"_id": "objectid", "qty": "int64", "price":
/// "decimal(18,2)", "tags": ["string"], "address": {"city": "string"}}`. Errors name the JSON
/// path under `path` (`source.mongodb.schema.address.city`).
pub(super) fn declared(
    schema: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    path: &str,
) -> Result<Columns> {
    if schema.is_empty() {
        return Err(ConnectorError::config(
            path,
            "must declare at least one field",
        ));
    }
    let mut fields = Vec::with_capacity(schema.len());
    for (name, value) in schema {
        fields.push((
            name.clone(),
            declared_type(value, &format!("{path}.{name}"))?,
        ));
    }
    let key_index = fields
        .iter()
        .position(|(name, _)| name == key)
        .ok_or_else(|| {
            ConnectorError::config(
                path,
                format!("must declare the replication key `{key}` (it is always read)"),
            )
        })?;
    match &fields[key_index].1 {
        FieldType::ObjectId | FieldType::String | FieldType::Int64 | FieldType::Date => {}
        // An int32 key is read as int64 (a later long must fit; the target's offset is one).
        FieldType::Int32 => fields[key_index].1 = FieldType::Int64,
        other => {
            return Err(ConnectorError::config(
                format!("{path}.{key}"),
                format!(
                    "the replication key is declared {}; it must be objectid, string, int32, \
                     int64 or date",
                    other.name()
                ),
            ))
        }
    }
    Ok(Columns { fields, key_index })
}

fn declared_type(value: &serde_json::Value, path: &str) -> Result<FieldType> {
    match value {
        serde_json::Value::String(name) => scalar_type(name).ok_or_else(|| {
            ConnectorError::config(
                path,
                format!(
                    "unknown type `{name}` (expected objectid, string, int32, int64, double, \
                     bool, date, timestamp, decimal(p,s), binary or json; [type] for a list, \
                     {{…}} for a document)"
                ),
            )
        }),
        serde_json::Value::Array(items) if items.len() == 1 => Ok(FieldType::List(Box::new(
            declared_type(&items[0], &format!("{path}[0]"))?,
        ))),
        serde_json::Value::Array(_) => Err(ConnectorError::config(
            path,
            "a list is declared with exactly one element type, e.g. [\"string\"]",
        )),
        serde_json::Value::Object(fields) if fields.is_empty() => Err(ConnectorError::config(
            path,
            "a document must declare at least one field (or use \"json\")",
        )),
        serde_json::Value::Object(fields) => {
            let mut declared = Vec::with_capacity(fields.len());
            for (name, value) in fields {
                declared.push((
                    name.clone(),
                    declared_type(value, &format!("{path}.{name}"))?,
                ));
            }
            Ok(FieldType::Struct(declared))
        }
        other => Err(ConnectorError::config(
            path,
            format!("expected a type name, [type] or {{…}}, found {other}"),
        )),
    }
}

/// A scalar type name of `schema` (case-insensitive; MongoDB's `$type` aliases work too).
fn scalar_type(name: &str) -> Option<FieldType> {
    let lower = name.trim().to_ascii_lowercase();
    Some(match lower.as_str() {
        "objectid" => FieldType::ObjectId,
        "string" => FieldType::String,
        "int32" | "int" => FieldType::Int32,
        "int64" | "long" => FieldType::Int64,
        "double" | "float64" => FieldType::Double,
        "bool" | "boolean" => FieldType::Bool,
        "date" => FieldType::Date,
        "timestamp" => FieldType::Timestamp,
        "binary" | "bindata" => FieldType::Binary,
        "json" => FieldType::Json,
        _ => {
            let args = lower.strip_prefix("decimal(")?.strip_suffix(')')?;
            let (p, s) = args.split_once(',')?;
            let precision: u8 = p.trim().parse().ok()?;
            let scale: i8 = s.trim().parse().ok()?;
            if precision == 0 || precision > MAX_PRECISION || scale < 0 || scale as u8 > precision {
                return None;
            }
            FieldType::Decimal { precision, scale }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field};
    use serde_json::json;

    use super::*;

    fn types(columns: &Columns) -> Vec<(String, String)> {
        columns
            .fields
            .iter()
            .map(|(n, t)| (n.clone(), t.name()))
            .collect()
    }

    #[test]
    fn declared_schemas_parse_with_paths_in_errors() {
        let schema = json!({
            "_id": "objectid", "qty": "int64", "price": "decimal(18,2)", "tags": ["string"],
            "address": { "city": "string", "geo": ["double"] }, "raw": "JSON", "n": "int",
        });
        let columns = declared(schema.as_object().unwrap(), "_id", "s").unwrap();
        assert_eq!(
            types(&columns),
            [
                ("_id", "objectid"),
                ("qty", "int64"),
                ("price", "decimal(18,2)"),
                ("tags", "[string]"),
                ("address", "object"),
                ("raw", "json"),
                ("n", "int32"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(
            columns.schema().field(4).data_type(),
            &DataType::Struct(
                vec![
                    Field::new("city", DataType::Utf8, true),
                    Field::new(
                        "geo",
                        DataType::List(Arc::new(Field::new("item", DataType::Float64, true))),
                        true
                    ),
                ]
                .into()
            )
        );
        let int_key = declared(json!({ "k": "int32" }).as_object().unwrap(), "k", "s").unwrap();
        assert_eq!(int_key.key_type(), &FieldType::Int64);

        let error = |value: serde_json::Value, key: &str| {
            declared(value.as_object().unwrap(), key, "source.mongodb.schema")
                .unwrap_err()
                .to_string()
        };
        let e = error(
            json!({ "_id": "objectid", "a": { "b": "decimal(40,2)" } }),
            "_id",
        );
        assert!(
            e.starts_with("source.mongodb.schema.a.b: unknown type"),
            "{e}"
        );
        let e = error(
            json!({ "_id": "objectid", "t": ["string", "int32"] }),
            "_id",
        );
        assert!(e.starts_with("source.mongodb.schema.t: a list"), "{e}");
        let e = error(json!({ "x": "string" }), "_id");
        assert!(e.contains("must declare the replication key `_id`"), "{e}");
        let e = error(json!({ "_id": "double" }), "_id");
        assert!(e.starts_with("source.mongodb.schema._id:"), "{e}");
        let e = error(json!({ "_id": "string", "d": {} }), "_id");
        assert!(e.starts_with("source.mongodb.schema.d:"), "{e}");
        let e = error(json!({ "_id": "string", "d": 5 }), "_id");
        assert!(
            e.starts_with("source.mongodb.schema.d: expected a type name"),
            "{e}"
        );
    }
}
