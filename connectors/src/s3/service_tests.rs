//! The `s3` target against the real S3-compatible server of `scripts/services.sh`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

use super::{Config, S3Target};
use crate::aws::test_server::TestAws;
use crate::test_util::load;
use crate::TargetConnector as _;
use crate::{Offset, ReplicationMode, Target, TargetContext, KEY_METADATA};

fn schema() -> Arc<Schema> {
    let key = HashMap::from([(KEY_METADATA.to_string(), "true".to_string())]);
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false).with_metadata(key),
        Field::new("name", DataType::Utf8, true),
        Field::new("price", DataType::Decimal128(12, 2), true),
        Field::new("ratio", DataType::Float64, true),
        Field::new("active", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("country", DataType::Utf8, true),
    ]))
}

/// Rows `ids` of every type, with nulls and text that needs care.
fn rows(ids: std::ops::Range<i64>) -> RecordBatch {
    let n = ids.clone().count();
    let id: Vec<i64> = ids.collect();
    let pick = |i: i64| i.rem_euclid(5) != 0;
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(id.clone())),
            Arc::new(StringArray::from_iter(id.iter().map(|&i| {
                pick(i).then(|| format!("name \"{i}\", été\nline two"))
            }))),
            Arc::new(
                Decimal128Array::from_iter(id.iter().map(|&i| pick(i).then_some(i as i128 * 125)))
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
            Arc::new(Float64Array::from_iter(
                id.iter().map(|&i| pick(i).then_some(i as f64 / 4.0)),
            )),
            Arc::new(BooleanArray::from_iter(
                id.iter().map(|&i| pick(i).then_some(i % 2 == 0)),
            )),
            Arc::new(Date32Array::from_iter(
                id.iter().map(|&i| pick(i).then_some(20_000 + i as i32)),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter(
                    id.iter()
                        .map(|&i| pick(i).then_some(1_700_000_000_000_000 + i)),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter(id.iter().map(|&i| match i % 3 {
                0 => Some("FR"),
                1 => Some("a/b=c"),
                _ => None,
            }))),
        ],
    )
    .inspect(|b| assert_eq!(b.num_rows(), n))
    .unwrap()
}

fn section(aws: &TestAws, bucket: &str, extra: Value) -> Config {
    let mut map = aws.section_keys();
    map.insert("bucket".into(), json!(bucket));
    map.insert("prefix".into(), json!("lake/orders/"));
    if let Value::Object(extra) = extra {
        map.extend(extra);
    }
    serde_json::from_value(Value::Object(map)).expect("a valid s3 target section")
}

async fn destination(config: Config, mode: ReplicationMode) -> crate::Result<S3Target> {
    S3Target::open(
        config,
        TargetContext {
            replication_mode: mode,
            run_id: "test".into(),
        },
    )
    .await
}

/// The data objects (the state object left out).
async fn data_objects(aws: &TestAws, bucket: &str) -> Vec<(String, Vec<u8>)> {
    aws.objects(bucket, "lake/orders/")
        .await
        .into_iter()
        .filter(|(key, _)| !key.ends_with("_fastlane_state.json"))
        .collect()
}

fn read_parquet(bytes: Vec<u8>) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// All rows of `batches`, sorted by id, as one batch.
fn sorted(batches: &[RecordBatch]) -> RecordBatch {
    let all = arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap();
    let order = arrow::compute::sort_to_indices(all.column(0), None, None).unwrap();
    arrow::compute::take_record_batch(&all, &order).unwrap()
}

#[tokio::test]
async fn parquet_objects_hold_every_row_with_its_type_and_appear_only_at_commit() {
    let aws = TestAws::from_env();
    let bucket = aws.bucket("s3-parquet").await;
    let config = section(
        &aws,
        &bucket,
        json!({ "concurrency": 2, "batch_size": 700, "compression": "snappy", "key": "id" }),
    );
    let dest = destination(config, ReplicationMode::FullTable)
        .await
        .unwrap();
    assert_eq!(dest.target_id(), format!("{bucket}/lake/orders"));
    let source: Vec<RecordBatch> = (0..5).map(|i| rows(i * 400..(i + 1) * 400)).collect();
    load(&dest, source.clone()).await;
    assert!(
        data_objects(&aws, &bucket).await.is_empty(),
        "objects are visible before the commit"
    );
    dest.commit().await.unwrap();

    let objects = data_objects(&aws, &bucket).await;
    // 2,000 rows over two workers of 1,000 rows each, 700 rows per object at most.
    assert_eq!(
        objects.len(),
        4,
        "{:?}",
        objects.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
    let today = chrono::Utc::now()
        .format("lake/orders/%Y/%m/%d/")
        .to_string();
    let mut read = Vec::new();
    for (key, body) in objects {
        assert!(
            key.starts_with(&today) && key.ends_with(".parquet"),
            "{key}"
        );
        read.extend(read_parquet(body));
    }
    let (expected, got) = (sorted(&source), sorted(&read));
    assert_eq!(got.num_rows(), 2000);
    for (e, g) in expected.columns().iter().zip(got.columns()) {
        assert_eq!(e.data_type(), g.data_type());
        assert_eq!(e.as_ref(), g.as_ref());
    }
    // A FULL_TABLE run also records the largest key, for an INCREMENTAL run to follow.
    assert_eq!(dest.get_offset().await.unwrap(), Some(Offset::Int(1999)));
}

#[tokio::test]
async fn partitions_go_to_hive_folders_without_their_column() {
    let aws = TestAws::from_env();
    let bucket = aws.bucket("s3-hive").await;
    let config = section(
        &aws,
        &bucket,
        json!({ "format": "jsonl", "partition_by": ["country"] }),
    );
    let dest = destination(config, ReplicationMode::FullTable)
        .await
        .unwrap();
    load(&dest, vec![rows(0..30), rows(30..60)]).await;
    dest.commit().await.unwrap();

    let mut per_folder: HashMap<String, Vec<i64>> = HashMap::new();
    for (key, body) in data_objects(&aws, &bucket).await {
        let folder = key
            .strip_prefix("lake/orders/")
            .and_then(|k| k.split('/').next())
            .unwrap()
            .to_string();
        assert!(key.ends_with(".jsonl"), "{key}");
        for line in String::from_utf8(body).unwrap().lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            assert!(
                row.get("country").is_none(),
                "the partition column is in the data: {row}"
            );
            per_folder
                .entry(folder.clone())
                .or_default()
                .push(row["id"].as_i64().unwrap());
        }
    }
    let ids = |rem: i64| (0..60).filter(|i| i % 3 == rem).collect::<Vec<i64>>();
    let mut folders: Vec<_> = per_folder.keys().cloned().collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "country=FR",
            "country=__HIVE_DEFAULT_PARTITION__",
            "country=a%2Fb%3Dc"
        ]
    );
    for (folder, rem) in [
        ("country=FR", 0),
        ("country=a%2Fb%3Dc", 1),
        ("country=__HIVE_DEFAULT_PARTITION__", 2),
    ] {
        let mut got = per_folder[folder].clone();
        got.sort();
        assert_eq!(got, ids(rem), "{folder}");
    }
}

#[tokio::test]
async fn large_objects_go_up_in_parts() {
    let aws = TestAws::from_env();
    let bucket = aws.bucket("s3-multipart").await;
    // CSV is not compressed: 60,000 rows of ~100 bytes are over two 5 MiB parts.
    let config = section(
        &aws,
        &bucket,
        json!({ "format": "csv", "part_size_mib": 5 }),
    );
    let dest = destination(config, ReplicationMode::FullTable)
        .await
        .unwrap();
    let source: Vec<RecordBatch> = (0..12)
        .map(|i| rows(i * 10_000..(i + 1) * 10_000))
        .collect();
    load(&dest, source).await;
    dest.commit().await.unwrap();

    let objects = data_objects(&aws, &bucket).await;
    assert_eq!(objects.len(), 1);
    let (key, body) = &objects[0];
    assert!(body.len() > 5 << 20, "{} bytes", body.len());
    let head = aws
        .s3()
        .await
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let parts: usize = etag.rsplit('-').next().unwrap().parse().unwrap();
    assert!(
        parts >= 2,
        "a multipart object's ETag ends with its part count: {etag}"
    );
    // Every column read as text; the ids are the first.
    let text = Schema::new(
        (0..schema().fields().len())
            .map(|i| Field::new(format!("c{i}"), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(text))
        .with_header(true)
        .build(std::io::Cursor::new(body.clone()))
        .unwrap();
    let ids: Vec<i64> = reader
        .flat_map(|b| {
            let b = b.unwrap();
            let ids = b
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone();
            ids.iter()
                .map(|v| v.unwrap().parse::<i64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids, (0..120_000).collect::<Vec<i64>>());
}

#[tokio::test]
async fn an_aborted_run_leaves_no_object_and_no_upload() {
    let aws = TestAws::from_env();
    let bucket = aws.bucket("s3-abort").await;
    let config = section(
        &aws,
        &bucket,
        json!({ "format": "csv", "part_size_mib": 5 }),
    );
    let dest = destination(config, ReplicationMode::FullTable)
        .await
        .unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    for i in 0..8 {
        writer
            .load(rows(i * 10_000..(i + 1) * 10_000))
            .await
            .unwrap();
    }
    // The run fails mid-way: the writer never finishes.
    drop(writer);
    dest.abort().await.unwrap();
    let s3 = aws.s3().await;
    let uploads = s3
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "{:?}", uploads.uploads());
    assert!(aws.objects(&bucket, "").await.is_empty());
}

#[tokio::test]
async fn incremental_runs_resume_after_the_largest_key_and_full_runs_replace_only_their_objects() {
    let aws = TestAws::from_env();
    let bucket = aws.bucket("s3-incremental").await;
    // An object fastlane did not write, which no run may touch.
    aws.s3()
        .await
        .put_object()
        .bucket(&bucket)
        .key("lake/orders/README.txt")
        .body(b"kept".to_vec().into())
        .send()
        .await
        .unwrap();
    let config = || section(&aws, &bucket, json!({ "key": "id" }));

    let first = destination(config(), ReplicationMode::Incremental)
        .await
        .unwrap();
    assert_eq!(first.get_offset().await.unwrap(), None);
    load(&first, vec![rows(0..100)]).await;
    first.commit().await.unwrap();

    let second = destination(config(), ReplicationMode::Incremental)
        .await
        .unwrap();
    assert_eq!(second.get_offset().await.unwrap(), Some(Offset::Int(99)));
    load(&second, vec![rows(100..150)]).await;
    second.commit().await.unwrap();
    let parquet_rows = |objects: Vec<(String, Vec<u8>)>| -> usize {
        objects
            .into_iter()
            .filter(|(k, _)| k.ends_with(".parquet"))
            .flat_map(|(_, body)| read_parquet(body))
            .map(|b| b.num_rows())
            .sum()
    };
    assert_eq!(parquet_rows(data_objects(&aws, &bucket).await), 150);

    let full = destination(config(), ReplicationMode::FullTable)
        .await
        .unwrap();
    load(&full, vec![rows(0..10)]).await;
    full.commit().await.unwrap();
    let left = data_objects(&aws, &bucket).await;
    assert_eq!(
        parquet_rows(left.clone()),
        10,
        "the previous objects were not replaced"
    );
    assert!(left.iter().any(|(k, _)| k == "lake/orders/README.txt"));
    assert_eq!(full.get_offset().await.unwrap(), Some(Offset::Int(9)));
}

#[tokio::test]
async fn a_missing_bucket_is_named() {
    let aws = TestAws::from_env();
    let config = section(&aws, "fl-no-such-bucket-anywhere", json!({}));
    let err = match destination(config, ReplicationMode::FullTable).await {
        Ok(_) => panic!("a missing bucket was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("'fl-no-such-bucket-anywhere'") && err.contains("does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn config_mistakes_name_the_key() {
    let aws = TestAws::from_env();
    for (extra, key) in [
        (json!({ "part_size_mib": 4 }), "target.s3.part_size_mib"),
        (
            json!({ "format": "csv", "compression": "zstd" }),
            "target.s3.compression",
        ),
        (
            json!({ "partition_by": ["a", "a"] }),
            "target.s3.partition_by[1]",
        ),
        (
            json!({ "access_key_id": null, "secret_access_key": "x" }),
            "target.s3.access_key_id",
        ),
    ] {
        let mut map = aws.section_keys();
        map.remove("access_key_id");
        map.remove("secret_access_key");
        map.insert("bucket".into(), json!("b"));
        if let Value::Object(extra) = extra {
            map.extend(extra);
        }
        let config: Config = serde_json::from_value(Value::Object(map)).unwrap();
        let err = match destination(config, ReplicationMode::FullTable).await {
            Ok(_) => panic!("accepted a config with a bad {key}"),
            Err(e) => e.to_string(),
        };
        assert!(err.starts_with(key), "{key}: {err}");
    }
}

#[tokio::test]
async fn bad_credentials_are_refused_with_a_clear_error() {
    let mut aws = TestAws::checking_signatures();
    aws.secret_access_key = "not-the-secret".into();
    let config = section(&aws, "fl-any-bucket", json!({}));
    let err = match destination(config, ReplicationMode::FullTable).await {
        Ok(_) => panic!("a wrong secret key was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("bucket 'fl-any-bucket'") && err.contains("access denied"),
        "{err}"
    );
}

#[tokio::test]
async fn objects_of_a_commit_killed_before_recording_them_are_deleted_by_the_next_commit() {
    let aws = TestAws::from_env();
    let bucket = aws.bucket("s3-pending").await;
    let s3 = aws.s3().await;
    // What a process killed mid-commit leaves: a completed object the state only lists as
    // pending, next to one it recorded.
    for key in [
        "lake/orders/2026/01/01/recorded.jsonl",
        "lake/orders/2026/01/01/unrecorded.jsonl",
    ] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(b"{\"id\":1}\n".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let state = json!({
        "version": 1, "key": "id", "offset": 1,
        "objects": ["lake/orders/2026/01/01/recorded.jsonl"],
        "pending": ["lake/orders/2026/01/01/recorded.jsonl", "lake/orders/2026/01/01/unrecorded.jsonl"],
        "run_id": "killed", "updated_at": "2026-01-01T00:00:00Z"
    });
    s3.put_object()
        .bucket(&bucket)
        .key("lake/orders/_fastlane_state.json")
        .body(state.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();

    let config = section(&aws, &bucket, json!({ "format": "jsonl", "key": "id" }));
    let dest = destination(config, ReplicationMode::Incremental)
        .await
        .unwrap();
    assert_eq!(dest.get_offset().await.unwrap(), Some(Offset::Int(1)));
    load(&dest, vec![rows(2..5)]).await;
    dest.commit().await.unwrap();

    let keys: Vec<String> = data_objects(&aws, &bucket)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(
        keys.contains(&"lake/orders/2026/01/01/recorded.jsonl".to_string()),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with("unrecorded.jsonl")),
        "{keys:?}"
    );
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(dest.get_offset().await.unwrap(), Some(Offset::Int(4)));
}
