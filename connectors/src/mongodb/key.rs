//! The replication key: its values, the query of a page, and where a read starts.
//!
//! A page is `{$and: [conditions…, {key: {$gt: last}}]}` sorted by the key and limited to
//! `batch_size`; the first page (no offset) asks for `{key: {$gte: <lowest value of the key's
//! type>}}` instead, so every page selects the same documents: those whose key holds the key
//! column's BSON type (MongoDB compares values of one type bracket only). Documents without
//! the key, or with a key of another type, are never read.
//!
//! ObjectId keys become 24 lowercase hex digits: fixed-length lowercase hex sorts like the
//! ObjectIds' bytes, so the largest string a target stores is the right place to resume.

use chrono::{NaiveDateTime, TimeZone, Utc};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{doc, Bson, DateTime, Document, RawBsonRef};
use serde_json::Value;

use super::config::SECTION;
use super::schema::FieldType;
use crate::{ConnectorError, Offset, Result};

/// A value of the replication key. Values of one variant order like MongoDB orders them with
/// the simple (binary) collation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key {
    ObjectId([u8; 12]),
    Int(i64),
    /// Compared bytewise, as UTF-8.
    Text(String),
    /// Milliseconds since the epoch.
    Date(i64),
}

impl Key {
    /// The key in `value` when it has the key column's type (`None` otherwise).
    pub fn read(value: RawBsonRef<'_>, ty: &FieldType) -> Option<Key> {
        match (ty, value) {
            (FieldType::ObjectId, RawBsonRef::ObjectId(oid)) => Some(Key::ObjectId(oid.bytes())),
            (FieldType::Int64, RawBsonRef::Int32(v)) => Some(Key::Int(i64::from(v))),
            (FieldType::Int64, RawBsonRef::Int64(v)) => Some(Key::Int(v)),
            (FieldType::String, RawBsonRef::String(s)) => Some(Key::Text(s.to_string())),
            (FieldType::Date, RawBsonRef::DateTime(d)) => Some(Key::Date(d.timestamp_millis())),
            _ => None,
        }
    }

    /// The key as a BSON value for a query.
    pub fn bson(&self) -> Bson {
        match self {
            Key::ObjectId(bytes) => Bson::ObjectId(ObjectId::from_bytes(*bytes)),
            Key::Int(v) => Bson::Int64(*v),
            Key::Text(s) => Bson::String(s.clone()),
            Key::Date(ms) => Bson::DateTime(DateTime::from_millis(*ms)),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::ObjectId(bytes) => write!(f, "{}", ObjectId::from_bytes(*bytes).to_hex()),
            Key::Int(v) => write!(f, "{v}"),
            Key::Text(s) => write!(f, "{s:?}"),
            Key::Date(ms) => match DateTime::from_millis(*ms).try_to_rfc3339_string() {
                Ok(text) => write!(f, "{text}"),
                Err(_) => write!(f, "{ms} ms"),
            },
        }
    }
}

/// The lowest value of the key type's bracket: `$gte` it selects every key of that type.
fn lowest(ty: &FieldType) -> Bson {
    match ty {
        FieldType::ObjectId => Bson::ObjectId(ObjectId::from_bytes([0; 12])),
        FieldType::String => Bson::String(String::new()),
        FieldType::Date => Bson::DateTime(DateTime::MIN),
        _ => Bson::Int64(i64::MIN),
    }
}

/// `conditions` combined with `$and` (`{}` when there are none).
pub(super) fn all_of(conditions: &[Document]) -> Document {
    match conditions {
        [] => Document::new(),
        [one] => one.clone(),
        many => doc! { "$and": many.iter().cloned().map(Bson::Document).collect::<Vec<_>>() },
    }
}

/// The filter of the page after `after` (the first page when `None`).
pub(super) fn page_filter(
    conditions: &[Document],
    key: &str,
    ty: &FieldType,
    after: Option<&Key>,
) -> Document {
    let range = match after {
        Some(last) => doc! { "$gt": last.bson() },
        None => doc! { "$gte": lowest(ty) },
    };
    let mut on_key = Document::new();
    on_key.insert(key, range);
    if conditions.is_empty() {
        return on_key;
    }
    let mut all: Vec<Bson> = conditions.iter().cloned().map(Bson::Document).collect();
    all.push(Bson::Document(on_key));
    doc! { "$and": all }
}

/// `{key: 1}`.
pub(super) fn sort(key: &str) -> Document {
    let mut sort = Document::new();
    sort.insert(key, 1);
    sort
}

/// The key to start after: the target's stored offset in INCREMENTAL runs (`resume`), else
/// the configured `offset`, converted to the key's type. `key` describes the key in errors
/// (`` `_id` of `db.coll` ``).
pub(super) fn start_after(
    ty: &FieldType,
    key: &str,
    resume: Option<&Offset>,
    offset: Option<&Value>,
) -> Result<Option<Key>> {
    let mismatch = |what: String, path: &str| {
        let hint = match ty {
            FieldType::ObjectId => " (an ObjectId key starts after 24 hex digits)",
            FieldType::Date => {
                " (a date key starts after epoch milliseconds or an RFC 3339 date-time)"
            }
            _ => "",
        };
        ConnectorError::config(
            path,
            format!(
                "cannot start after {what}: the key {key} is {}{hint}",
                ty.name()
            ),
        )
    };
    if let Some(offset) = resume {
        let converted = match (ty, offset) {
            (FieldType::Int64, Offset::Int(v)) => Some(Key::Int(*v)),
            (FieldType::Int64, Offset::UInt(v)) => i64::try_from(*v).ok().map(Key::Int),
            (FieldType::Date, Offset::Int(ms)) => Some(Key::Date(*ms)),
            (FieldType::Date, Offset::UInt(ms)) => i64::try_from(*ms).ok().map(Key::Date),
            (_, Offset::Text(text)) => from_text(ty, text),
            _ => None,
        };
        return converted
            .map(Some)
            .ok_or_else(|| mismatch(format!("the target's offset {offset}"), "replication_mode"));
    }
    let path = format!("{SECTION}.offset");
    let Some(value) = offset else {
        return Ok(None);
    };
    let converted = match (ty, value) {
        (FieldType::Int64, Value::Number(n)) => n.as_i64().map(Key::Int),
        (FieldType::Date, Value::Number(n)) => n.as_i64().map(Key::Date),
        (_, Value::String(text)) => from_text(ty, text),
        _ => None,
    };
    converted
        .map(Some)
        .ok_or_else(|| mismatch(format!("the offset {value}"), &path))
}

/// A text offset as a key of type `ty`.
fn from_text(ty: &FieldType, text: &str) -> Option<Key> {
    match ty {
        FieldType::String => Some(Key::Text(text.to_string())),
        FieldType::ObjectId if text.len() == 24 => ObjectId::parse_str(text)
            .ok()
            .map(|oid| Key::ObjectId(oid.bytes())),
        FieldType::Date => parse_date(text).map(Key::Date),
        _ => None,
    }
}

/// Milliseconds of an RFC 3339 date-time, or of `YYYY-MM-DD HH:MM:SS[.f]` read as UTC.
fn parse_date(text: &str) -> Option<i64> {
    if let Ok(d) = DateTime::parse_rfc3339_str(text) {
        return Some(d.timestamp_millis());
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| Utc.from_utc_datetime(&naive).timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HEX: &str = "65a1b2c3d4e5f60718293a4b";

    fn oid() -> Key {
        Key::ObjectId(ObjectId::parse_str(HEX).unwrap().bytes())
    }

    #[test]
    fn offsets_convert_to_the_key_type() {
        let start = |ty: FieldType, resume: Option<Offset>, offset: Option<Value>| {
            start_after(&ty, "`k` of `db.c`", resume.as_ref(), offset.as_ref())
        };
        assert_eq!(
            start(FieldType::ObjectId, Some(Offset::Text(HEX.into())), None).unwrap(),
            Some(oid())
        );
        assert_eq!(
            start(FieldType::ObjectId, None, Some(json!(HEX.to_uppercase()))).unwrap(),
            Some(oid()),
            "hex digits of either case"
        );
        assert_eq!(
            start(FieldType::Int64, Some(Offset::Int(-5)), None).unwrap(),
            Some(Key::Int(-5))
        );
        assert_eq!(
            start(FieldType::Int64, None, Some(json!(42))).unwrap(),
            Some(Key::Int(42))
        );
        assert_eq!(
            start(FieldType::String, Some(Offset::Text("w0495".into())), None).unwrap(),
            Some(Key::Text("w0495".into()))
        );
        assert_eq!(
            start(FieldType::Date, None, Some(json!("2024-01-01T00:00:01Z"))).unwrap(),
            Some(Key::Date(1_704_067_201_000))
        );
        assert_eq!(
            start(
                FieldType::Date,
                Some(Offset::Text("2024-01-01 00:00:01.5".into())),
                None
            )
            .unwrap(),
            Some(Key::Date(1_704_067_201_500))
        );
        assert_eq!(
            start(FieldType::Date, Some(Offset::Int(7)), None).unwrap(),
            Some(Key::Date(7))
        );
        assert_eq!(
            start(FieldType::Int64, None, None).unwrap(),
            None,
            "no offset: from the start"
        );
        assert_eq!(
            start(FieldType::Int64, Some(Offset::Int(3)), Some(json!(9))).unwrap(),
            Some(Key::Int(3)),
            "the target's offset wins over the config's"
        );
    }

    #[test]
    fn offsets_of_another_type_are_refused_naming_the_key() {
        let message = |ty: FieldType, resume: Option<Offset>, offset: Option<Value>| {
            start_after(&ty, "`_id` of `db.c`", resume.as_ref(), offset.as_ref())
                .unwrap_err()
                .to_string()
        };
        let e = message(FieldType::ObjectId, None, Some(json!("abc")));
        assert!(
            e.starts_with("source.mongodb.offset: cannot start after the offset \"abc\"")
                && e.contains("`_id` of `db.c` is objectid")
                && e.contains("24 hex digits"),
            "{e}"
        );
        let e = message(FieldType::ObjectId, None, Some(json!(5)));
        assert!(e.starts_with("source.mongodb.offset:"), "{e}");
        let e = message(FieldType::Int64, Some(Offset::Text("12".into())), None);
        assert!(
            e.starts_with("replication_mode: cannot start after the target's offset \"12\""),
            "{e}"
        );
        let e = message(FieldType::Int64, Some(Offset::UInt(u64::MAX)), None);
        assert!(e.starts_with("replication_mode:"), "{e}");
        let e = message(FieldType::String, None, Some(json!(12)));
        assert!(e.contains("is string"), "{e}");
        let e = message(FieldType::Int64, None, Some(json!(1.5)));
        assert!(e.starts_with("source.mongodb.offset:"), "{e}");
        let e = message(FieldType::Date, None, Some(json!("yesterday")));
        assert!(e.contains("RFC 3339"), "{e}");
    }

    #[test]
    fn pages_select_one_type_bracket_after_the_last_key() {
        let conditions = [doc! { "odd": true }];
        assert_eq!(
            page_filter(&[], "_id", &FieldType::ObjectId, None),
            doc! { "_id": { "$gte": ObjectId::from_bytes([0; 12]) } }
        );
        assert_eq!(
            page_filter(&conditions, "n", &FieldType::Int64, Some(&Key::Int(7))),
            doc! { "$and": [{ "odd": true }, { "n": { "$gt": 7_i64 } }] }
        );
        assert_eq!(
            page_filter(&[], "s", &FieldType::String, None),
            doc! { "s": { "$gte": "" } }
        );
        assert_eq!(all_of(&[]), doc! {});
        assert_eq!(all_of(&conditions), doc! { "odd": true });
        assert_eq!(
            all_of(&[doc! { "a": 1 }, doc! { "b": 2 }]),
            doc! { "$and": [{ "a": 1 }, { "b": 2 }] }
        );
    }

    #[test]
    fn keys_order_like_mongodb_and_hex_sorts_like_bytes() {
        let a = Key::ObjectId([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f]);
        let b = Key::ObjectId([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa0]);
        assert!(a < b);
        assert!(
            a.to_string() < b.to_string(),
            "lowercase hex keeps the order"
        );
        assert!(Key::Int(-1) < Key::Int(10));
        assert!(
            Key::Text("B".into()) < Key::Text("a".into()),
            "binary comparison"
        );
        assert_eq!(oid().to_string(), HEX);
        assert_eq!(
            Key::read(RawBsonRef::Int32(4), &FieldType::Int64),
            Some(Key::Int(4))
        );
        assert_eq!(Key::read(RawBsonRef::Double(4.0), &FieldType::Int64), None);
        assert_eq!(
            Key::read(RawBsonRef::String("x"), &FieldType::ObjectId),
            None
        );
    }
}
