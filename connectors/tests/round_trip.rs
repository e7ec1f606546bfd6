//! Batches written by the `file` target and read back by the `file` source come back equal,
//! type by type, through the registry the runtime uses.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, Int8Array, LargeStringArray, ListArray, RecordBatch,
    StringArray, Time64MicrosecondArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit};
use fastlane_connectors::{
    source_entry, target_entry, ConnectorError, ReplicationMode, Result, SourceContext,
    TargetContext,
};
use serde_json::{json, Value};

async fn read_all(config: Value) -> Result<Vec<RecordBatch>> {
    let entry = source_entry("file").expect("file source registered");
    let context = SourceContext::default();
    let mut source = entry
        .parse(&config, context.replication_mode)?
        .open(context)
        .await?;
    let mut batches = Vec::new();
    while let Some(batch) = source.extract().await? {
        batches.push(batch);
    }
    Ok(batches)
}

async fn write_all(config: Value, batches: &[RecordBatch]) -> Result<()> {
    let entry = target_entry("file").expect("file target registered");
    let context = TargetContext {
        run_id: "test-run".into(),
        ..Default::default()
    };
    let target = entry
        .parse(&config, context.replication_mode)?
        .open(context)
        .await?;
    let mut writer = target.writer(0).await?;
    for batch in batches {
        writer.load(batch.clone()).await?;
    }
    writer.finish().await?;
    target.commit().await
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    assert!(!batches.is_empty(), "no batch read");
    concat_batches(&batches[0].schema(), batches).expect("batches share a schema")
}

/// Every type Parquet preserves (with the Arrow schema it embeds), a null in every column.
fn all_types() -> RecordBatch {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None, Some(3)]),
        None,
        Some(vec![]),
    ]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(i8::MIN), None, Some(i8::MAX)])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(i16::MIN), None, Some(i16::MAX)])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(i32::MIN), None, Some(i32::MAX)])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)])),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(vec![Some(0), None, Some(u8::MAX)])),
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(vec![Some(0), None, Some(u16::MAX)])),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![Some(0), None, Some(u32::MAX)])),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![Some(0), None, Some(u64::MAX)])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![Some(-1.5), None, Some(f32::MAX)])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(0.1), None, Some(-1e300)])),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![
                    Some(-12_345_678_901_234_567_890_123_456_789i128),
                    None,
                    Some(99_999_999_999_999_999_999_999_999_999_999_999_999i128),
                ])
                .with_precision_and_scale(38, 10)
                .unwrap(),
            ),
        ),
        (
            "utf8",
            Arc::new(StringArray::from(vec![
                Some("plain"),
                None,
                Some("Zoë 😀, \"quoted\""),
            ])),
        ),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from(vec![Some("😀"), None, Some("")])),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\xff"[..]),
                None,
                Some(&b""[..]),
            ])),
        ),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "date",
            Arc::new(Date32Array::from(vec![Some(-719_162), None, Some(19_723)])),
        ),
        (
            "ts_utc",
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_704_067_200_123_456), None, Some(-1)])
                    .with_timezone("UTC"),
            ),
        ),
        (
            "ts_plus2",
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(0), None, Some(42)])
                    .with_timezone("+02:00"),
            ),
        ),
        (
            "ts_paris",
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1_700_000_000_000), None, Some(0)])
                    .with_timezone("Europe/Paris"),
            ),
        ),
        (
            "time",
            Arc::new(Time64MicrosecondArray::from(vec![
                Some(0),
                None,
                Some(86_399_999_999),
            ])),
        ),
        ("list", Arc::new(list)),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, columns.into_iter().map(|(_, a)| a).collect()).unwrap()
}

#[tokio::test]
async fn parquet_round_trip_preserves_every_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/all.parquet");
    let original = all_types();
    // Two batches, so the reader must reassemble them.
    let batches = [original.clone(), original.slice(1, 2)];
    for compression in ["zstd", "snappy", "lz4", "none"] {
        write_all(
            json!({ "path": path, "compression": compression }),
            &batches,
        )
        .await
        .unwrap();
        let read = read_all(json!({ "path": path })).await.unwrap();
        let read = concat(&read);
        assert_eq!(read.schema(), original.schema(), "{compression}");
        assert_eq!(read, concat(&batches), "{compression}");
    }
}

/// A schema of the types a format writes and infers back exactly: nullable columns.
fn batch_of(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

#[tokio::test]
async fn csv_round_trip_equals_in_content() {
    let original = batch_of(vec![
        (
            "id",
            Arc::new(Int64Array::from(vec![
                Some(1),
                Some(-2),
                None,
                Some(i64::MAX),
            ])),
        ),
        (
            "price",
            Arc::new(Float64Array::from(vec![
                Some(0.1),
                None,
                Some(-2.5),
                Some(1e-7),
            ])),
        ),
        (
            "text",
            Arc::new(StringArray::from(vec![
                Some("a,b"),
                Some("say \"hi\"\nbye"),
                None,
                Some("Zoë 😀"),
            ])),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
            ])),
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![
                Some(19_723),
                None,
                Some(0),
                Some(-1),
            ])),
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_704_067_200_123_456),
                None,
                Some(1_000_001),
                Some(-1_000_001),
            ])),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    write_all(
        json!({ "path": path }),
        &[original.slice(0, 3), original.slice(3, 1)],
    )
    .await
    .unwrap();
    let read = concat(
        &read_all(json!({ "path": path, "batch_size": 2 }))
            .await
            .unwrap(),
    );
    assert_eq!(read, original);
}

#[tokio::test]
async fn jsonl_round_trip_equals_in_content() {
    let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
        Some(vec![Some(-7)]),
    ]);
    let original = batch_of(vec![
        (
            "id",
            Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(3),
                Some(i64::MIN),
            ])),
        ),
        (
            "amount",
            Arc::new(Float64Array::from(vec![
                None,
                Some(2.0),
                Some(-0.25),
                Some(1e100),
            ])),
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("Zoë 😀"),
                Some("line\nbreak \"q\""),
                Some(""),
                None,
            ])),
        ),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![
                Some(false),
                Some(true),
                None,
                Some(true),
            ])),
        ),
        ("tags", Arc::new(list)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.ndjson");
    write_all(json!({ "path": path }), std::slice::from_ref(&original))
        .await
        .unwrap();
    let read = concat(
        &read_all(json!({ "path": path, "batch_size": 3 }))
            .await
            .unwrap(),
    );
    assert_eq!(read, original);
}

#[tokio::test]
async fn generated_orders_survive_a_parquet_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.parquet");
    let generate = source_entry("generate").unwrap();
    let mut source = generate
        .parse(
            &json!({ "rows": 5000, "batch_size": 1024 }),
            ReplicationMode::FullTable,
        )
        .unwrap()
        .open(SourceContext::default())
        .await
        .unwrap();
    let mut batches = Vec::new();
    while let Some(batch) = source.extract().await.unwrap() {
        batches.push(batch);
    }
    write_all(json!({ "path": path }), &batches).await.unwrap();
    let read = read_all(json!({ "path": path, "batch_size": 4096 }))
        .await
        .unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(concat(&read), concat(&batches));
}

#[tokio::test]
async fn empty_source_writes_a_typed_empty_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.parquet");
    let generate = source_entry("generate").unwrap();
    let mut source = generate
        .parse(&json!({ "rows": 0 }), ReplicationMode::FullTable)
        .unwrap()
        .open(SourceContext::default())
        .await
        .unwrap();
    let mut batches = Vec::new();
    while let Some(batch) = source.extract().await.unwrap() {
        batches.push(batch);
    }
    assert_eq!(batches.len(), 1);
    write_all(json!({ "path": path }), &batches).await.unwrap();
    let read = read_all(json!({ "path": path })).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].num_rows(), 0);
    let schema: SchemaRef = read[0].schema();
    assert_eq!(schema, batches[0].schema());
    assert!(matches!(
        schema.field_with_name("amount").unwrap().data_type(),
        DataType::Decimal128(12, 2)
    ));
    assert!(matches!(
        schema.field_with_name("created_at").unwrap().data_type(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC"
    ));
}

#[tokio::test]
async fn config_errors_name_the_key() {
    let err = read_all(json!({ "path": "x.csv", "batch_size": "many" }))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Config { path, .. } if path == "source.file.batch_size"),
        "{err}"
    );
    let err = write_all(json!({ "path": "x.csv", "colour": 1 }), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Config { path, .. } if path == "target.file.colour"),
        "{err}"
    );
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
}

#[test]
fn every_config_key_is_documented_in_the_schema() {
    let schemas = fastlane_connectors::SOURCES
        .iter()
        .map(|e| (e.name(), e.schema()))
        .chain(
            fastlane_connectors::TARGETS
                .iter()
                .map(|e| (e.name(), e.schema())),
        );
    for (name, schema) in schemas {
        let schema = schema.as_value();
        // Self-contained, so the runtime can embed it in the pipeline's schema.
        assert!(
            !schema.to_string().contains("$ref"),
            "{name}: schema refers to definitions"
        );
        assert_eq!(
            schema["additionalProperties"],
            json!(false),
            "{name}: unknown keys must be refused"
        );
        let properties = schema["properties"].as_object().expect("properties");
        for (key, property) in properties {
            let text = property["description"].as_str().unwrap_or_default();
            assert!(!text.is_empty(), "{name}.{key} has no description");
        }
    }
}
