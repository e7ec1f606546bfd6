//! The original fastlane's `filter_fields` (`[field, operator_or_value, value_or_"None",
//! literal_flag]`) and the JSON `filter`, as BSON conditions.

use mongodb::bson::{Bson, Document};
use serde_json::Value;

use crate::{ConnectorError, Result};

/// A JSON object in MongoDB extended JSON as a BSON document.
pub(super) fn extended_json_document(value: Value, path: &str) -> Result<Document> {
    match Bson::try_from(value) {
        Ok(Bson::Document(doc)) => Ok(doc),
        Ok(other) => Err(ConnectorError::config(
            path,
            format!("must be a document, found {other}"),
        )),
        Err(e) => Err(ConnectorError::config(
            path,
            format!("not valid MongoDB extended JSON: {e}"),
        )),
    }
}

/// One `filter_fields` entry (`[field, operator_or_value, value_or_"None", literal_flag]`) as
/// a condition; errors name `path` (`source.mongodb.filter_fields[0]`).
pub(super) fn filter_field(entry: &[Value], path: &str) -> Result<Document> {
    if !(3..=4).contains(&entry.len()) {
        return Err(ConnectorError::config(
            path,
            format!(
                "expected [field, operator_or_value, value_or_\"None\", literal_flag], found {} \
                 elements",
                entry.len()
            ),
        ));
    }
    let field = match &entry[0] {
        Value::String(f) if !f.is_empty() => f.clone(),
        other => {
            return Err(ConnectorError::config(
                format!("{path}[0]"),
                format!("expected a field name, found {other}"),
            ))
        }
    };
    let literal = match entry.get(3) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(other) => {
            return Err(ConnectorError::config(
                format!("{path}[3]"),
                format!("the literal flag is 0 or 1, found {other}"),
            ))
        }
    };
    let mut condition = Document::new();
    if entry[2] == Value::String("None".into()) {
        condition.insert(
            field,
            filter_value(&entry[1], literal, &format!("{path}[1]"))?,
        );
        return Ok(condition);
    }
    let operator = match &entry[1] {
        Value::String(op) if op.starts_with('$') && op.len() > 1 => op.clone(),
        other => {
            return Err(ConnectorError::config(
                format!("{path}[1]"),
                format!(
                    "expected an operator such as \"$gt\" (or \"None\" as the third element \
                     for equality), found {other}"
                ),
            ))
        }
    };
    let mut comparison = Document::new();
    comparison.insert(
        operator,
        filter_value(&entry[2], literal, &format!("{path}[2]"))?,
    );
    condition.insert(field, comparison);
    Ok(condition)
}

/// A `filter_fields` value: with `literal`, a string holding a JSON literal is parsed; the
/// value is then read as MongoDB extended JSON.
fn filter_value(value: &Value, literal: bool, path: &str) -> Result<Bson> {
    let value = match value {
        Value::String(text) if literal => match text.trim() {
            // The Python spellings the original's `eval` accepted.
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            "None" => Value::Null,
            trimmed => serde_json::from_str(trimmed).map_err(|e| {
                ConnectorError::config(
                    path,
                    format!(
                        "{text:?} is not a JSON literal ({e}); fastlane parses JSON, it does not \
                         evaluate Python"
                    ),
                )
            })?,
        },
        other => other.clone(),
    };
    Bson::try_from(value)
        .map_err(|e| ConnectorError::config(path, format!("not valid MongoDB extended JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, oid::ObjectId};
    use serde_json::json;

    fn entry(value: Value) -> Result<Document> {
        filter_field(value.as_array().unwrap(), "source.mongodb.filter_fields[0]")
    }

    #[test]
    fn filter_fields_keep_the_original_shape() {
        assert_eq!(
            entry(json!(["status", "paid", "None", 0])).unwrap(),
            doc! { "status": "paid" }
        );
        assert_eq!(
            entry(json!(["qty", "$gte", 10, 0])).unwrap(),
            doc! { "qty": { "$gte": 10 } }
        );
        assert_eq!(
            entry(json!(["qty", "$gte", "10", 0])).unwrap(),
            doc! { "qty": { "$gte": "10" } },
            "without the literal flag a string stays a string"
        );
        assert_eq!(
            entry(json!(["qty", "$gte", "10", 1])).unwrap(),
            doc! { "qty": { "$gte": 10 } }
        );
        assert_eq!(
            entry(json!(["tag", "$in", "[\"a\", \"b\"]", 1])).unwrap(),
            doc! { "tag": { "$in": ["a", "b"] } }
        );
        assert_eq!(
            entry(json!(["done", "$eq", "True", true])).unwrap(),
            doc! { "done": { "$eq": true } }
        );
        assert_eq!(
            entry(json!(["n", "null", "None", 1])).unwrap(),
            doc! { "n": null },
            "the flag applies to the equality value too"
        );
        let oid = ObjectId::parse_str("65a1b2c3d4e5f60718293a4b").unwrap();
        assert_eq!(
            entry(json!(["_id", "$gt", {"$oid": "65a1b2c3d4e5f60718293a4b"}, 0])).unwrap(),
            doc! { "_id": { "$gt": oid } }
        );
        assert_eq!(
            entry(json!([
                "at",
                "$lt",
                "{\"$date\": \"2024-01-01T00:00:00Z\"}",
                1
            ]))
            .unwrap(),
            doc! { "at": { "$lt": mongodb::bson::DateTime::from_millis(1_704_067_200_000) } }
        );
        assert_eq!(
            entry(json!(["qty", "$gte", 10])).unwrap(),
            doc! { "qty": { "$gte": 10 } },
            "the flag may be left out"
        );
    }

    #[test]
    fn filter_fields_mistakes_name_the_element() {
        let message = |v: Value| entry(v).unwrap_err().to_string();
        let e = message(json!(["qty", "$gte"]));
        assert!(
            e.starts_with("source.mongodb.filter_fields[0]: expected [field"),
            "{e}"
        );
        let e = message(json!([5, "$gte", 1, 0]));
        assert!(e.starts_with("source.mongodb.filter_fields[0][0]:"), "{e}");
        let e = message(json!(["qty", "gte", 1, 0]));
        assert!(
            e.starts_with("source.mongodb.filter_fields[0][1]: expected an operator"),
            "{e}"
        );
        let e = message(json!(["qty", "$in", "[1, 2", 1]));
        assert!(
            e.starts_with("source.mongodb.filter_fields[0][2]:")
                && e.contains("not a JSON literal"),
            "{e}"
        );
        let e = message(json!(["qty", "$in", "__import__('os')", 1]));
        assert!(e.contains("does not evaluate Python"), "{e}");
        let e = message(json!(["qty", "$gt", 1, 2]));
        assert!(e.starts_with("source.mongodb.filter_fields[0][3]:"), "{e}");
        let e = message(json!(["_id", "$gt", {"$oid": "xyz"}, 0]));
        assert!(e.contains("extended JSON"), "{e}");
    }
}
