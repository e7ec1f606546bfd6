//! Decoding documents built in memory: every BSON type, including those the test server
//! (nx-27017) cannot store (Decimal128, regex, BSON timestamp, minKey, NaN).

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Decimal128Type, Float64Type, Int32Type, Int64Type, TimeUnit,
    TimestampMillisecondType, TimestampSecondType,
};
use arrow::record_batch::RecordBatch;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, Bson, DateTime, Document, RawDocumentBuf, Regex, Timestamp};

use super::{BatchDecoder, Policy};
use crate::mongodb::schema::{Columns, FieldType, Inference, Nesting};
use crate::ConnectorError;

fn raw(d: &Document) -> RawDocumentBuf {
    RawDocumentBuf::from_document(d).expect("a valid document")
}

fn infer(docs: &[Document], nesting: Nesting) -> Columns {
    let mut inference = Inference::default();
    for d in docs {
        inference.add(&raw(d)).unwrap();
    }
    inference
        .finish("_id", nesting, ConnectorError::Other)
        .unwrap()
}

fn decode(columns: &Columns, docs: &[Document], policy: Policy) -> crate::Result<RecordBatch> {
    let mut decoder = BatchDecoder::new(columns, 4, "db.coll".into(), policy, false)?;
    for d in docs {
        decoder.push(&raw(d))?;
    }
    decoder.finish()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let array = batch.column_by_name(name).unwrap().as_string::<i32>();
    (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.value(i).to_string()))
        .collect()
}

fn decimal(s: &str) -> Bson {
    Bson::Decimal128(s.parse().unwrap())
}

#[test]
fn every_bson_type_decodes() {
    let oid = ObjectId::parse_str("65a1b2c3d4e5f60718293a4b").unwrap();
    let docs = [
        doc! {
            "_id": oid, "i32": 7, "i64": 1_i64 << 40, "dbl": 1.5, "b": true, "s": "héllo 😀",
            "date": DateTime::from_millis(1_704_164_645_678),
            "old": DateTime::from_millis(-631_152_000_000),
            "ts": Timestamp { time: 1_700_000_000, increment: 3 }, "dec": decimal("12.50"),
            "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 1, 255] },
            "uuid": Binary { subtype: BinarySubtype::Uuid, bytes: vec![7; 16] },
            "doc": { "a": 1, "b": { "c": "x" } }, "arr": [1, 2, 3],
            "arrdoc": [{ "x": 1 }, { "x": 2, "y": "z" }],
            "rx": Regex { pattern: "^a".into(), options: "i".into() },
            "code": Bson::JavaScriptCode("f()".into()), "mk": Bson::MinKey, "nan": f64::NAN,
            "mixed": 1, "nul": null,
        },
        doc! {
            "_id": ObjectId::parse_str("65a1b2c3d4e5f60718293a4c").unwrap(), "i32": null,
            "dec": decimal("-0.001"), "arr": [], "doc": null, "mixed": "two", "extra": 1,
        },
    ];
    let columns = infer(&docs, Nesting::Typed);
    let batch = decode(&columns, &docs, Policy::Fail).unwrap();
    let schema = batch.schema();
    let ty = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(ty("_id"), DataType::Utf8);
    assert_eq!(ty("i32"), DataType::Int32);
    assert_eq!(ty("i64"), DataType::Int64);
    assert_eq!(ty("dbl"), DataType::Float64);
    assert_eq!(ty("b"), DataType::Boolean);
    assert_eq!(
        ty("date"),
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    assert_eq!(
        ty("ts"),
        DataType::Timestamp(TimeUnit::Second, Some("UTC".into()))
    );
    assert_eq!(ty("dec"), DataType::Decimal128(38, 3));
    assert_eq!(ty("bin"), DataType::Binary);
    assert!(matches!(ty("doc"), DataType::Struct(f) if f.len() == 2));
    assert!(matches!(ty("arr"), DataType::List(f) if f.data_type() == &DataType::Int32));
    assert_eq!(ty("rx"), DataType::Utf8);
    assert_eq!(ty("nul"), DataType::Utf8);

    assert_eq!(
        strings(&batch, "_id"),
        [
            Some("65a1b2c3d4e5f60718293a4b".into()),
            Some("65a1b2c3d4e5f60718293a4c".into())
        ]
    );
    let i32s = batch
        .column_by_name("i32")
        .unwrap()
        .as_primitive::<Int32Type>();
    assert_eq!((i32s.value(0), i32s.is_null(1)), (7, true));
    let i64s = batch
        .column_by_name("i64")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(
        (i64s.value(0), i64s.is_null(1)),
        (1 << 40, true),
        "missing → null"
    );
    assert_eq!(
        batch
            .column_by_name("dbl")
            .unwrap()
            .as_primitive::<Float64Type>()
            .value(0),
        1.5
    );
    assert!(batch.column_by_name("b").unwrap().as_boolean().value(0));
    assert_eq!(strings(&batch, "s")[0].as_deref(), Some("héllo 😀"));
    let dates = batch
        .column_by_name("date")
        .unwrap()
        .as_primitive::<TimestampMillisecondType>();
    assert_eq!(dates.value(0), 1_704_164_645_678);
    let old = batch
        .column_by_name("old")
        .unwrap()
        .as_primitive::<TimestampMillisecondType>();
    assert_eq!(old.value(0), -631_152_000_000, "dates before 1970");
    let ts = batch
        .column_by_name("ts")
        .unwrap()
        .as_primitive::<TimestampSecondType>();
    assert_eq!(ts.value(0), 1_700_000_000);
    let dec = batch
        .column_by_name("dec")
        .unwrap()
        .as_primitive::<Decimal128Type>();
    assert_eq!((dec.value(0), dec.value(1)), (12_500, -1));
    let bin = batch.column_by_name("bin").unwrap().as_binary::<i32>();
    assert_eq!(bin.value(0), [0, 1, 255]);
    let uuid = batch.column_by_name("uuid").unwrap().as_binary::<i32>();
    assert_eq!(uuid.value(0), [7; 16], "the subtype is dropped");

    let nested = batch.column_by_name("doc").unwrap().as_struct();
    assert!(nested.is_valid(0) && nested.is_null(1));
    assert_eq!(
        nested
            .column_by_name("a")
            .unwrap()
            .as_primitive::<Int32Type>()
            .value(0),
        1
    );
    let deeper = nested.column_by_name("b").unwrap().as_struct();
    assert_eq!(
        deeper
            .column_by_name("c")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "x"
    );

    let arr = batch.column_by_name("arr").unwrap().as_list::<i32>();
    assert_eq!(
        arr.value(0).as_primitive::<Int32Type>().values().to_vec(),
        [1, 2, 3]
    );
    assert!(
        arr.is_valid(1) && arr.value(1).is_empty(),
        "[] is an empty list, not null"
    );

    let arrdoc = batch.column_by_name("arrdoc").unwrap().as_list::<i32>();
    let items = arrdoc.value(0);
    let items = items.as_struct();
    let xs = items
        .column_by_name("x")
        .unwrap()
        .as_primitive::<Int32Type>();
    assert_eq!((xs.value(0), xs.value(1)), (1, 2));
    let ys = items.column_by_name("y").unwrap().as_string::<i32>();
    assert!(ys.is_null(0));
    assert_eq!(ys.value(1), "z");
    assert!(arrdoc.is_null(1), "missing array → null list");

    assert_eq!(
        strings(&batch, "rx")[0].as_deref(),
        Some(r#"{"$regularExpression":{"pattern":"^a","options":"i"}}"#)
    );
    assert_eq!(
        strings(&batch, "code")[0].as_deref(),
        Some(r#"{"$code":"f()"}"#)
    );
    assert_eq!(
        strings(&batch, "mk")[0].as_deref(),
        Some(r#"{"$minKey":1}"#)
    );
    assert!(batch
        .column_by_name("nan")
        .unwrap()
        .as_primitive::<Float64Type>()
        .value(0)
        .is_nan());
    assert_eq!(
        strings(&batch, "mixed"),
        [Some("1".into()), Some("\"two\"".into())],
        "a mix of types is read as relaxed extended JSON"
    );
    assert_eq!(strings(&batch, "nul"), [None, None]);
    assert!(
        schema.field_with_name("extra").is_ok(),
        "fields of any sampled document"
    );
}

#[test]
fn nested_documents_and_arrays_as_json() {
    let docs = [doc! { "_id": 1, "doc": { "a": 1, "b": { "c": "x" } }, "arr": [1, "two", null] }];
    let columns = infer(&docs, Nesting::Json);
    let batch = decode(&columns, &docs, Policy::Fail).unwrap();
    assert_eq!(
        strings(&batch, "doc")[0].as_deref(),
        Some(r#"{"a":1,"b":{"c":"x"}}"#)
    );
    assert_eq!(
        strings(&batch, "arr")[0].as_deref(),
        Some(r#"[1,"two",null]"#)
    );
}

fn declared() -> Columns {
    Columns {
        fields: vec![
            ("_id".into(), FieldType::Int64),
            ("qty".into(), FieldType::Int32),
            (
                "address".into(),
                FieldType::Struct(vec![("zip".into(), FieldType::Int32)]),
            ),
            ("tags".into(), FieldType::List(Box::new(FieldType::Int32))),
            (
                "price".into(),
                FieldType::Decimal {
                    precision: 6,
                    scale: 2,
                },
            ),
            ("oid".into(), FieldType::ObjectId),
        ],
        key_index: 0,
    }
}

#[test]
fn a_value_that_does_not_fit_fails_naming_the_document_and_the_field() {
    let columns = declared();
    for (d, path, found) in [
        (
            doc! { "_id": 5, "qty": "lots" },
            "qty",
            "expected int32, found string",
        ),
        (
            doc! { "_id": 6, "address": { "zip": "75001" } },
            "address.zip",
            "expected int32, found string",
        ),
        (
            doc! { "_id": 7, "tags": [1, "x"] },
            "tags[]",
            "expected int32, found string",
        ),
        (
            doc! { "_id": 8, "qty": 1_i64 << 40 },
            "qty",
            "expected int32, found long that does not fit exactly",
        ),
        (
            doc! { "_id": 9, "price": decimal("1.005") },
            "price",
            "expected decimal(6,2), found decimal that does not fit exactly",
        ),
        (
            doc! { "_id": 10, "price": decimal("NaN") },
            "price",
            "found decimal that does not fit",
        ),
        (
            doc! { "_id": 11, "price": 1.5 },
            "price",
            "expected decimal(6,2), found double",
        ),
        (
            doc! { "_id": 12, "oid": "65a1b2c3d4e5f60718293a4b" },
            "oid",
            "expected objectid, found string",
        ),
        (
            doc! { "_id": 13, "address": "Paris" },
            "address",
            "expected object, found string",
        ),
    ] {
        let e = decode(&columns, &[d], Policy::Fail)
            .unwrap_err()
            .to_string();
        let id = e
            .split("document _id=")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_default()
            .to_string();
        assert!(
            e.starts_with("source.mongodb: db.coll: document _id=")
                && e.contains(&format!("field `{path}`: "))
                && e.contains(found),
            "{e}"
        );
        assert!(!id.is_empty(), "{e}");
    }
}

#[test]
fn fields_an_inferred_schema_lacks_fail_or_are_counted_but_a_declared_schema_ignores_them() {
    let columns = declared();
    let late = doc! { "_id": 9, "qty": 1, "discount": 0.1, "address": { "zip": 2, "floor": 3 } };
    let mut strict = BatchDecoder::new(&columns, 4, "db.coll".into(), Policy::Fail, true).unwrap();
    let e = strict.push(&raw(&late)).unwrap_err().to_string();
    assert!(
        e.contains("document _id=9") && e.contains("field `discount` is not in the schema"),
        "{e}"
    );

    let mut counting =
        BatchDecoder::new(&columns, 4, "db.coll".into(), Policy::Null, true).unwrap();
    counting.push(&raw(&late)).unwrap();
    counting.push(&raw(&late)).unwrap();
    assert_eq!(counting.finish().unwrap().num_rows(), 2);
    assert_eq!(
        counting.mismatches(),
        [
            ("discount (not in the schema)".to_string(), 2),
            ("address.floor (not in the schema)".to_string(), 2)
        ]
    );

    let mut declared_only =
        BatchDecoder::new(&columns, 4, "db.coll".into(), Policy::Fail, false).unwrap();
    declared_only.push(&raw(&late)).unwrap();
    assert!(declared_only.mismatches().is_empty());
}

#[test]
fn the_null_policy_nulls_and_counts_per_field() {
    let columns = declared();
    let docs = [
        doc! { "_id": 1, "qty": "lots", "address": { "zip": "75001" }, "tags": [1, "x", 3],
        "price": decimal("12.34") },
        doc! { "_id": 2, "qty": 4, "address": "Paris", "tags": 5, "price": 7 },
        doc! { "_id": 3, "qty": 2_i64, "address": { "zip": 1 }, "tags": [],
        "price": decimal("1E+9") },
    ];
    let mut decoder =
        BatchDecoder::new(&columns, 4, "db.coll".into(), Policy::Null, false).unwrap();
    for d in &docs {
        decoder.push(&raw(d)).unwrap();
    }
    let batch = decoder.finish().unwrap();
    let qty = batch.column(1).as_primitive::<Int32Type>();
    assert_eq!(
        (qty.is_null(0), qty.value(1), qty.value(2)),
        (true, 4, 2),
        "an int64 that fits is kept"
    );
    let address = batch.column(2).as_struct();
    assert!(address.is_valid(0) && address.is_null(1) && address.is_valid(2));
    let zip = address.column(0).as_primitive::<Int32Type>();
    assert!(zip.is_null(0));
    assert_eq!(zip.value(2), 1);
    let tags = batch.column(3).as_list::<i32>();
    let first = tags.value(0);
    let first = first.as_primitive::<Int32Type>();
    assert_eq!(first.len(), 3);
    assert_eq!(
        (first.value(0), first.is_null(1), first.value(2)),
        (1, true, 3)
    );
    assert!(tags.is_null(1));
    assert!(tags.is_valid(2) && tags.value(2).is_empty());
    let price = batch.column(4).as_primitive::<Decimal128Type>();
    assert_eq!((price.value(0), price.value(1)), (1234, 700));
    assert!(price.is_null(2), "1E+9 exceeds decimal(6,2)");
    let mut counts = decoder.mismatches();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("address".to_string(), 1),
            ("address.zip".to_string(), 1),
            ("price".to_string(), 1),
            ("qty".to_string(), 1),
            ("tags".to_string(), 1),
            ("tags[]".to_string(), 1),
        ]
    );
}

#[test]
fn batches_restart_cleanly_and_odd_documents_are_tolerated() {
    let columns = declared();
    let mut decoder =
        BatchDecoder::new(&columns, 2, "db.coll".into(), Policy::Fail, false).unwrap();
    decoder
        .push(&raw(
            &doc! { "_id": 1, "tags": [1, 2], "unknown": "ignored" },
        ))
        .unwrap();
    decoder.push(&raw(&doc! { "_id": 2, "tags": [3] })).unwrap();
    let first = decoder.finish().unwrap();
    assert_eq!(first.num_rows(), 2);
    assert_eq!(decoder.len(), 0);
    // Fields in another order, and a repeated name (the first value wins).
    let mut repeated = raw(&doc! { "tags": [4, 5, 6], "_id": 3, "qty": 1 });
    repeated.append("qty", 2);
    decoder.push(&repeated).unwrap();
    let second = decoder.finish().unwrap();
    assert_eq!(second.num_rows(), 1);
    let tags = second.column(3).as_list::<i32>();
    assert_eq!(
        tags.value(0).as_primitive::<Int32Type>().values().to_vec(),
        [4, 5, 6]
    );
    assert_eq!(second.column(0).as_primitive::<Int64Type>().value(0), 3);
    assert_eq!(second.column(1).as_primitive::<Int32Type>().value(0), 1);
    assert_eq!(second.schema(), first.schema());
}
