//! The `s3` target with the Glue Data Catalog, against the AWS-compatible server of
//! `scripts/services.sh` (its Glue: tables, partitions, crawlers). Athena is not served there:
//! the view statements are tested through the binary against a recording endpoint
//! (`runtime/tests/aws.rs`).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

use super::{Config, S3Target};
use crate::aws::json_api::{JsonApi, Service};
use crate::aws::test_server::{unique_name, TestAws};
use crate::TargetConnector as _;
use crate::{ReplicationMode, Target, TargetContext};

/// A Glue client of the test server, for fixtures and for reading back what the target did.
async fn glue(aws: &TestAws) -> JsonApi {
    JsonApi::new(Service::Glue, &aws.sdk_config().await, Some(&aws.endpoint)).unwrap()
}

async fn call(api: &JsonApi, operation: &str, body: Value) -> Value {
    api.call(operation, &body)
        .await
        .unwrap_or_else(|e| panic!("{operation}: {e}"))
}

/// A database with a unique name (Glue keeps names in lower case, with `_`).
async fn database(api: &JsonApi, tag: &str) -> String {
    let name = unique_name(tag).replace('-', "_");
    call(
        api,
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": name}}),
    )
    .await;
    name
}

/// The original layout's table: typed columns, the op and version columns, date partitions.
async fn original_table(api: &JsonApi, database: &str, location: &str, partitions: &[&str]) {
    let columns = json!([
        {"Name": "id", "Type": "bigint"},
        {"Name": "amount", "Type": "decimal(10,2)"},
        {"Name": "name", "Type": "string"},
        {"Name": "at", "Type": "timestamp"},
        {"Name": "_op_type", "Type": "string"},
        {"Name": "_op_timestamp", "Type": "bigint"},
        {"Name": "_table_version", "Type": "bigint"},
    ]);
    let keys: Vec<Value> = partitions
        .iter()
        .map(|p| json!({"Name": p, "Type": "string"}))
        .collect();
    call(
        api,
        "CreateTable",
        json!({"DatabaseName": database, "TableInput": {
            "Name": "orders",
            "StorageDescriptor": {"Columns": columns, "Location": location},
            "PartitionKeys": keys,
            "TableType": "EXTERNAL_TABLE",
        }}),
    )
    .await;
}

/// Batches as the source and the op fields make them: `id` an INT, `amount` a wider decimal.
fn batch(ids: std::ops::Range<i32>, amount_scale_ok: bool) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("ID", DataType::Int32, false),
        Field::new("amount", DataType::Decimal128(12, 2), true),
        Field::new("name", DataType::Utf8, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("_op_type", DataType::Utf8, false),
        Field::new("_op_timestamp", DataType::Int64, false),
    ]));
    let ids: Vec<i32> = ids.collect();
    let n = ids.len();
    let amount = |i: i32| -> Option<i128> {
        if i % 5 == 0 {
            None
        } else if amount_scale_ok {
            Some(i as i128 * 101)
        } else {
            // Too large for decimal(10,2).
            Some(10_i128.pow(11))
        }
    };
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(ids.clone())),
            Arc::new(
                Decimal128Array::from_iter(ids.iter().map(|&i| amount(i)))
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("n{i}")),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    ids.iter().map(|&i| 1_700_000_000_000_000 + i as i64),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n("I", n))),
            Arc::new(Int64Array::from_value(1_765_000_000_000, n)),
        ],
    )
    .unwrap()
}

/// `batch` with column `index` replaced by (or, past the end, added as) `field` holding `values`.
fn with_column(
    batch: &RecordBatch,
    index: usize,
    field: Field,
    values: Option<ArrayRef>,
) -> RecordBatch {
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    let values = values.unwrap_or_else(|| columns[index].clone());
    if index < fields.len() {
        fields[index] = field;
        columns[index] = values;
    } else {
        fields.push(field);
        columns.push(values);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

fn section(aws: &TestAws, extra: Value) -> Config {
    let mut map = aws.section_keys();
    map.insert("glue_endpoint_url".into(), json!(aws.endpoint));
    if let Value::Object(extra) = extra {
        map.extend(extra);
    }
    serde_json::from_value(Value::Object(map)).expect("a valid s3 target section")
}

/// Load `batches` through one writer and finish it; the first error is returned.
async fn try_load(target: &S3Target, batches: Vec<RecordBatch>) -> crate::Result<()> {
    let mut writer = target.writer(0).await?;
    for batch in batches {
        writer.load(batch).await?;
    }
    writer.finish().await
}

/// The error loading `batch` fails with; the run is aborted.
async fn refused(config: Config, mode: ReplicationMode, batch: RecordBatch) -> String {
    let target = open(config, mode).await.unwrap();
    let err = try_load(&target, vec![batch])
        .await
        .unwrap_err()
        .to_string();
    target.abort().await.unwrap();
    err
}

async fn open(config: Config, mode: ReplicationMode) -> crate::Result<S3Target> {
    S3Target::open(
        config,
        TargetContext {
            replication_mode: mode,
            run_id: "test".into(),
        },
    )
    .await
}

fn read_parquet(bytes: &[u8]) -> RecordBatch {
    let batches: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.to_vec()))
            .unwrap()
            .build()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[tokio::test]
async fn a_glue_table_types_the_objects_and_gets_its_date_partitions() {
    let aws = TestAws::from_env();
    let api = glue(&aws).await;
    let bucket = aws.bucket("glue-orig").await;
    let db = database(&api, "orig").await;
    original_table(
        &api,
        &db,
        &format!("s3://{bucket}/warehouse/orders/"),
        &["year", "month", "day"],
    )
    .await;

    let config = section(
        &aws,
        json!({"database": db, "table": "orders", "batch_size": 400}),
    );
    let before = chrono::Utc::now().timestamp();
    let target = open(config, ReplicationMode::FullTable).await.unwrap();
    try_load(&target, vec![batch(1..601, true), batch(601..1001, true)])
        .await
        .unwrap();
    assert!(
        aws.objects(&bucket, "warehouse/orders/2").await.is_empty(),
        "nothing is visible before the commit"
    );
    target.commit().await.unwrap();
    let after = chrono::Utc::now().timestamp();

    let objects: Vec<(String, Vec<u8>)> = aws
        .objects(&bucket, "warehouse/orders/")
        .await
        .into_iter()
        .filter(|(k, _)| k.ends_with(".parquet"))
        .collect();
    assert_eq!(objects.len(), 3, "batch_size 400 → 3 objects");
    let today = chrono::Utc::now().format("%Y/%m/%d").to_string();
    let mut ids = Vec::new();
    for (key, body) in &objects {
        // {location}/{YYYY}/{MM}/{DD}/{micros}-{uuid}.parquet
        let name = key
            .strip_prefix(&format!("warehouse/orders/{today}/"))
            .unwrap_or_else(|| panic!("{key} is not under today's date folders"));
        let (micros, rest) = name.split_once('-').unwrap();
        let micros: i64 = micros.parse().unwrap();
        assert!(
            micros / 1_000_000 >= before - 1 && micros / 1_000_000 <= after + 1,
            "{key}"
        );
        assert_eq!(rest.len(), 36 + ".parquet".len(), "{key}");
        let rows = read_parquet(body);
        let schema = rows.schema();
        let types: Vec<(&str, &DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("id", &DataType::Int64),
                ("amount", &DataType::Decimal128(10, 2)),
                ("name", &DataType::Utf8),
                (
                    "at",
                    &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                ),
                ("_op_type", &DataType::Utf8),
                ("_op_timestamp", &DataType::Int64),
                ("_table_version", &DataType::Int64),
            ],
            "the objects have the table's columns, names and types"
        );
        let version = rows.column(6).as_primitive::<Int64Type>();
        assert!(version.values().iter().all(|&v| v >= before && v <= after));
        ids.extend(
            rows.column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .copied(),
        );
        let amounts = rows
            .column(1)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        for (i, id) in rows
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .enumerate()
        {
            let expected = (id % 5 != 0).then_some(*id as i128 * 101);
            assert_eq!(
                amounts.is_valid(i).then(|| amounts.value(i)),
                expected,
                "id {id}"
            );
        }
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>());

    let parts = call(
        &api,
        "GetPartitions",
        json!({"DatabaseName": db, "TableName": "orders"}),
    )
    .await;
    let parts = parts["Partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "{parts:?}");
    let values: Vec<String> = today.split('/').map(str::to_string).collect();
    assert_eq!(parts[0]["Values"], json!(values));
    assert_eq!(
        parts[0]["StorageDescriptor"]["Columns"]
            .as_array()
            .map(Vec::len),
        Some(7),
        "a partition carries the table's columns"
    );
    assert_eq!(
        parts[0]["StorageDescriptor"]["Columns"]
            .as_array()
            .map(Vec::len),
        Some(7),
        "a partition carries the table's columns"
    );
    assert_eq!(
        parts[0]["StorageDescriptor"]["Location"],
        json!(format!("s3://{bucket}/warehouse/orders/{today}/"))
    );
}

#[tokio::test]
async fn values_and_columns_the_table_cannot_take_fail_naming_them_and_leave_nothing() {
    let aws = TestAws::from_env();
    let api = glue(&aws).await;
    let bucket = aws.bucket("glue-bad").await;
    let db = database(&api, "bad").await;
    original_table(&api, &db, &format!("s3://{bucket}/t/"), &[]).await;
    let config = section(&aws, json!({"database": db, "table": "orders"}));

    // A value too large for decimal(10,2).
    let err = refused(
        config.clone(),
        ReplicationMode::FullTable,
        batch(1..10, false),
    )
    .await;
    assert!(
        err.contains("column `amount`") && err.contains("Decimal128(10, 2)"),
        "{err}"
    );

    // A column the table does not have; one it has that the batches lack.
    let target = open(config.clone(), ReplicationMode::FullTable)
        .await
        .unwrap();
    let extra = batch(1..10, true);
    let renamed = with_column(
        &extra,
        2,
        Field::new("nickname", DataType::Utf8, true),
        None,
    );
    let err = try_load(&target, vec![renamed])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("columns the table does not: nickname")
            && err.contains("the batches do not: name"),
        "{err}"
    );
    target.abort().await.unwrap();

    // A lossy conversion is refused before any value is looked at.
    let floats = with_column(
        &extra,
        1,
        Field::new("amount", DataType::Float64, true),
        Some(Arc::new(arrow::array::Float64Array::from(vec![1.5; 9]))),
    );
    let err = refused(config.clone(), ReplicationMode::FullTable, floats).await;
    assert!(
        err.contains("column `amount` (Float64) cannot be written as `decimal(10,2)`"),
        "{err}"
    );

    assert!(
        aws.objects(&bucket, "t/").await.is_empty(),
        "no object of the failed runs is visible"
    );

    // A table that does not exist, and keys of the two layouts mixed.
    let missing = section(&aws, json!({"database": db, "table": "nope"}));
    let err = open(missing, ReplicationMode::FullTable)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(&format!("Glue table {db}.nope does not exist")),
        "{err}"
    );
    let mixed: Result<Config, _> =
        serde_json::from_value(json!({"bucket": bucket, "database": db, "table": "t"}));
    let err = crate::ConnectorConfig::check_for(&mixed.unwrap(), ReplicationMode::FullTable)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("target.s3.bucket") && err.contains("not both"),
        "{err}"
    );
}

#[tokio::test]
async fn a_named_crawler_is_started_instead_of_registering_partitions() {
    let aws = TestAws::from_env();
    let api = glue(&aws).await;
    let bucket = aws.bucket("glue-crawl").await;
    let db = database(&api, "crawl").await;
    let location = format!("s3://{bucket}/t/");
    original_table(&api, &db, &location, &["dt"]).await;
    let crawler = unique_name("crawler");
    call(
        &api,
        "CreateCrawler",
        json!({"Name": crawler, "Role": "fastlane-test", "DatabaseName": db,
               "Targets": {"S3Targets": [{"Path": location}]}}),
    )
    .await;

    // Partitioned by something other than the date folders, without a crawler: refused.
    let plain = section(&aws, json!({"database": db, "table": "orders"}));
    let err = open(plain, ReplicationMode::FullTable)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("partitioned by (dt)") && err.contains("crawler"),
        "{err}"
    );

    let config = section(
        &aws,
        json!({"database": db, "table": "orders", "crawler": crawler}),
    );
    let target = open(config, ReplicationMode::FullTable).await.unwrap();
    try_load(&target, vec![batch(1..50, true)]).await.unwrap();
    let state = call(&api, "GetCrawler", json!({"Name": crawler})).await;
    assert_eq!(
        state["Crawler"]["State"],
        json!("READY"),
        "not started before the commit"
    );
    target.commit().await.unwrap();
    let state = call(&api, "GetCrawler", json!({"Name": crawler})).await;
    assert_eq!(state["Crawler"]["State"], json!("RUNNING"), "{state}");
    let parts = call(
        &api,
        "GetPartitions",
        json!({"DatabaseName": db, "TableName": "orders"}),
    )
    .await;
    assert_eq!(
        parts["Partitions"],
        json!([]),
        "the crawler registers partitions, not fastlane"
    );
}

#[tokio::test]
async fn catalog_glue_creates_the_table_and_keeps_it_in_step() {
    let aws = TestAws::from_env();
    let api = glue(&aws).await;
    let bucket = aws.bucket("glue-reg").await;
    let db = unique_name("reg").replace('-', "_");
    let config = |mode_extra: Value| {
        let mut extra = json!({
            "bucket": bucket, "prefix": "lake/orders", "partition_by": ["_op_type"],
            "catalog": {"glue": {"database": db, "table": "orders"}},
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut extra, mode_extra) {
            a.extend(b);
        }
        section(&aws, extra)
    };

    // First run: the database and the table do not exist yet.
    let target = open(config(json!({})), ReplicationMode::FullTable)
        .await
        .unwrap();
    try_load(&target, vec![batch(1..100, true)]).await.unwrap();
    target.commit().await.unwrap();
    let table = call(
        &api,
        "GetTable",
        json!({"DatabaseName": db, "Name": "orders"}),
    )
    .await;
    let sd = &table["Table"]["StorageDescriptor"];
    assert_eq!(sd["Location"], json!(format!("s3://{bucket}/lake/orders/")));
    assert_eq!(
        sd["Columns"],
        json!([
            {"Name": "id", "Type": "int"},
            {"Name": "amount", "Type": "decimal(12,2)"},
            {"Name": "name", "Type": "string"},
            {"Name": "at", "Type": "timestamp"},
            {"Name": "_op_timestamp", "Type": "bigint"},
        ])
    );
    assert_eq!(
        table["Table"]["PartitionKeys"],
        json!([{"Name": "_op_type", "Type": "string"}])
    );
    let parts = call(
        &api,
        "GetPartitions",
        json!({"DatabaseName": db, "TableName": "orders"}),
    )
    .await;
    assert_eq!(parts["Partitions"][0]["Values"], json!(["I"]));
    assert_eq!(
        parts["Partitions"][0]["StorageDescriptor"]["Location"],
        json!(format!("s3://{bucket}/lake/orders/_op_type=I/"))
    );

    // An INCREMENTAL run with a new column adds it; one changing a column's type is refused.
    let more = batch(100..120, true);
    let wider = with_column(
        &more,
        usize::MAX,
        Field::new("note", DataType::Utf8, true),
        Some(Arc::new(StringArray::from(vec!["x"; 20]))),
    );
    let target = open(config(json!({"key": "ID"})), ReplicationMode::Incremental)
        .await
        .unwrap();
    try_load(&target, vec![wider]).await.unwrap();
    target.commit().await.unwrap();
    let table = call(
        &api,
        "GetTable",
        json!({"DatabaseName": db, "Name": "orders"}),
    )
    .await;
    let names: Vec<&str> = table["Table"]["StorageDescriptor"]["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["id", "amount", "name", "at", "_op_timestamp", "note"]
    );

    let changed = batch(200..210, true);
    let changed = with_column(
        &changed,
        2,
        Field::new("name", DataType::Int64, true),
        Some(Arc::new(Int64Array::from(vec![7; 10]))),
    );
    let err = refused(
        config(json!({"key": "ID"})),
        ReplicationMode::Incremental,
        changed,
    )
    .await;
    assert!(
        err.contains("column `name` is `string` in the table and `bigint` in this run"),
        "{err}"
    );
}
