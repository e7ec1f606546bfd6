//! Tests against the AWS-compatible test server (`scripts/services.sh`): streams opened, records delivered to S3 and read back.

use super::tests::key_field;
use super::{Config, FirehoseTarget};
use crate::aws::test_server::{unique_name, TestAws};
use crate::TargetConnector as _;
use crate::{ReplicationMode, TargetContext};
use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde_json::{json, Value};
use std::sync::Arc;

/// A section pointing at the test server (`extra` keys added or replaced).
fn section(aws: &TestAws, stream: &str, extra: Value) -> Config {
    let mut map = aws.section_keys();
    map.insert("delivery_stream".into(), json!(stream));
    if let Value::Object(extra) = extra {
        map.extend(extra);
    }
    serde_json::from_value(Value::Object(map)).expect("a valid firehose target section")
}

async fn destination(config: Config) -> crate::Result<FirehoseTarget> {
    FirehoseTarget::open(
        config,
        TargetContext {
            replication_mode: ReplicationMode::FullTable,
            run_id: "test".into(),
        },
    )
    .await
}

#[tokio::test]
async fn a_missing_stream_fails_at_open_naming_it() {
    let aws = TestAws::from_env();
    let stream = unique_name("fh-missing");
    let err = destination(section(&aws, &stream, json!({})))
        .await
        .err()
        .expect("the stream does not exist")
        .to_string();
    assert!(
        err.starts_with("target.firehose.delivery_stream:")
            && err.contains(&format!("'{stream}'"))
            && err.contains("does not exist"),
        "{err}"
    );
}

/// Tests reading what the stream delivered to S3.
#[cfg(feature = "s3")]
mod delivered {
    use std::collections::BTreeMap;

    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::TimeUnit;
    use aws_sdk_firehose::types::{DeliveryStreamType, ExtendedS3DestinationConfiguration};

    use super::super::fault_proxy::{Fault, FaultProxy, INJECTED_CODE};
    use super::*;
    use crate::test_util::load;
    use crate::Target;

    /// Where the test streams deliver in their bucket.
    const PREFIX: &str = "delivered/";
    /// 2026-11-22T10:15:30.123456Z, in microseconds.
    const AT0: i64 = 1_795_342_530_123_456;
    /// 2026-11-22, in days.
    const DAY0: i32 = 20_779;

    /// A new bucket and a new Direct PUT stream delivering into it under [`PREFIX`].
    async fn stream_into_bucket(aws: &TestAws, tag: &str) -> (String, String) {
        let bucket = aws.bucket(tag).await;
        let stream = unique_name(tag);
        let destination = ExtendedS3DestinationConfiguration::builder()
            .role_arn("arn:aws:iam::123456789012:role/firehose")
            .bucket_arn(format!("arn:aws:s3:::{bucket}"))
            .prefix(PREFIX)
            // The SDK requires it in DescribeDeliveryStream's answer; moto only echoes what it
            // was given.
            .compression_format(aws_sdk_firehose::types::CompressionFormat::Uncompressed)
            .build()
            .expect("a complete S3 destination");
        aws_sdk_firehose::Client::new(&aws.sdk_config().await)
            .create_delivery_stream()
            .delivery_stream_name(&stream)
            .delivery_stream_type(DeliveryStreamType::DirectPut)
            .extended_s3_destination_configuration(destination)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating stream {stream}: {}", crate::aws::describe(&e)));
        (bucket, stream)
    }

    /// The records of each delivered object (one per PutRecordBatch call): how many each
    /// object holds, and all of them parsed.
    async fn delivered(aws: &TestAws, bucket: &str) -> (Vec<usize>, Vec<Value>) {
        let mut per_object = Vec::new();
        let mut rows = Vec::new();
        for (key, body) in aws.objects(bucket, PREFIX).await {
            assert!(body.ends_with(b"\n"), "{key} does not end with a newline");
            let text = String::from_utf8(body).unwrap_or_else(|e| panic!("{key}: {e}"));
            let before = rows.len();
            for line in text.lines() {
                let row: Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{key}: {e}: {line}"));
                rows.push(row);
            }
            per_object.push(rows.len() - before);
        }
        (per_object, rows)
    }

    /// Rows by their `id`; a row delivered twice fails the test.
    fn by_id(rows: Vec<Value>) -> BTreeMap<i64, Value> {
        let mut out = BTreeMap::new();
        for row in rows {
            let id = row["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("no id in {row}"));
            assert!(out.insert(id, row).is_none(), "row {id} delivered twice");
        }
        out
    }

    fn label(i: i64) -> String {
        format!("row \"{i}\" \\ back\nslash, tab\t, ünïcödé ✓ 🚀")
    }

    /// Rows `ids` with ints, floats (NaN included), nulls, awkward text, bools, decimals,
    /// timestamps and dates.
    fn mixed_rows(ids: std::ops::Range<i64>) -> RecordBatch {
        let ids: Vec<i64> = ids.collect();
        let schema = Arc::new(Schema::new(vec![
            key_field("id", DataType::Int64),
            Field::new("ratio", DataType::Float64, false),
            Field::new("count", DataType::Int32, true),
            Field::new("label", DataType::Utf8, true),
            Field::new("flag", DataType::Boolean, false),
            Field::new("price", DataType::Decimal128(10, 2), false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("day", DataType::Date32, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(Float64Array::from_iter_values(ids.iter().map(|&i| {
                    if i % 17 == 0 {
                        f64::NAN
                    } else {
                        i as f64 * 0.5 + 0.25
                    }
                }))),
                Arc::new(Int32Array::from_iter(
                    ids.iter().map(|&i| (i % 3 != 0).then_some(-(i as i32))),
                )),
                Arc::new(StringArray::from_iter(
                    ids.iter().map(|&i| (i % 11 != 0).then(|| label(i))),
                )),
                Arc::new(BooleanArray::from_iter(
                    ids.iter().map(|&i| Some(i % 2 == 0)),
                )),
                Arc::new(
                    Decimal128Array::from_iter_values(ids.iter().map(|&i| i as i128 * 100 + 50))
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        ids.iter().map(|&i| AT0 + i * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(Date32Array::from_iter_values(
                    ids.iter().map(|&i| DAY0 + i as i32),
                )),
            ],
        )
        .unwrap()
    }

    /// The record [`mixed_rows`] gives for row `i`.
    fn expected(i: i64) -> Value {
        let at = chrono::DateTime::from_timestamp_micros(AT0 + i * 1_000_000)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let day =
            chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap() + chrono::Days::new(i as u64);
        let ratio = (i % 17 != 0).then_some(i as f64 * 0.5 + 0.25);
        let count = (i % 3 != 0).then_some(-i);
        let text = (i % 11 != 0).then(|| label(i));
        json!({
            "id": i,
            "ratio": ratio,
            "count": count,
            "label": text,
            "flag": i % 2 == 0,
            "price": format!("{i}.50"),
            "at": at,
            "day": day.to_string(),
        })
    }

    #[tokio::test]
    async fn every_row_arrives_once_with_its_values() {
        let aws = TestAws::from_env();
        let (bucket, stream) = stream_into_bucket(&aws, "fh-rows").await;
        let dest = destination(section(
            &aws,
            &stream,
            json!({ "batch_size": 100, "concurrency": 2 }),
        ))
        .await
        .unwrap();
        assert_eq!(
            (dest.target_id(), dest.workers(), dest.needs_order()),
            (stream.clone(), 2, false)
        );
        let batches = (0..5)
            .map(|b| mixed_rows(b * 250..(b * 250 + 250).min(1234)))
            .collect();
        load(&dest, batches).await;
        dest.commit().await.unwrap();

        let (per_object, rows) = delivered(&aws, &bucket).await;
        // Worker 0 loads 250 + 250 + 234 rows, worker 1 250 + 250; what is left of a batch
        // waits for the next one, so calls stay full: 8 + 5 calls, all of 100 but the last.
        let mut sizes = per_object.clone();
        sizes.sort_unstable();
        assert_eq!(sizes[0], 34, "{per_object:?}");
        assert!(
            sizes[1..].iter().all(|&n| n == 100) && sizes.len() == 13,
            "{per_object:?}"
        );
        let rows = by_id(rows);
        assert_eq!(rows.len(), 1234);
        for (id, row) in &rows {
            assert_eq!(row, &expected(*id), "row {id}");
        }
        let keys: Vec<&str> = rows[&12]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["id", "ratio", "count", "label", "flag", "price", "at", "day"]
        );
        assert_eq!(rows[&12]["price"], "12.50");
        assert_eq!(rows[&0]["at"], "2026-11-22T10:15:30.123456Z");
        assert_eq!(rows[&0]["day"], "2026-11-22");
        assert_eq!(rows[&0]["ratio"], Value::Null, "NaN is written as null");
        assert_eq!(rows[&1]["label"], label(1));
    }

    #[tokio::test]
    async fn records_reported_failed_are_resent_until_delivered() {
        let aws = TestAws::from_env();
        let (bucket, stream) = stream_into_bucket(&aws, "fh-retry").await;
        let proxy = FaultProxy::start(&aws.endpoint, Fault::HalfOfFirstCall).await;
        let dest = destination(section(
            &aws,
            &stream,
            json!({ "batch_size": 100, "endpoint_url": proxy.url }),
        ))
        .await
        .unwrap();
        load(&dest, vec![mixed_rows(0..300)]).await;
        dest.commit().await.unwrap();

        assert_eq!(
            proxy.kept_back(),
            50,
            "every other record of the first call"
        );
        assert_eq!(
            proxy.put_calls(),
            4,
            "3 calls and one resend of the 50 records"
        );
        let rows = by_id(delivered(&aws, &bucket).await.1);
        assert_eq!(
            rows.keys().copied().collect::<Vec<_>>(),
            (0..300).collect::<Vec<_>>()
        );
        for id in [0, 1, 2, 99, 299] {
            assert_eq!(rows[&id], expected(id), "row {id}");
        }
    }

    #[tokio::test]
    async fn a_record_that_keeps_failing_fails_the_run_after_max_attempts() {
        let aws = TestAws::from_env();
        let (bucket, stream) = stream_into_bucket(&aws, "fh-poison").await;
        let proxy = FaultProxy::start(&aws.endpoint, Fault::Poison("{\"id\":7,".into())).await;
        let dest = destination(section(
            &aws,
            &stream,
            json!({ "max_attempts": 3, "endpoint_url": proxy.url }),
        ))
        .await
        .unwrap();
        let mut writer = dest.writer(0).await.unwrap();
        // 50 rows, under batch_size (500): they wait for `finish`, then go in one call.
        writer.load(mixed_rows(0..50)).await.unwrap();
        assert_eq!(proxy.put_calls(), 0);
        let err = writer.finish().await.unwrap_err().to_string();
        assert!(
            err.contains(INJECTED_CODE)
                && err.contains(&format!("'{stream}'"))
                && err.contains("after 3 attempt"),
            "{err}"
        );
        assert_eq!((proxy.put_calls(), proxy.kept_back()), (3, 3));
        dest.abort().await.unwrap();

        let rows = by_id(delivered(&aws, &bucket).await.1);
        assert_eq!(
            rows.keys().copied().collect::<Vec<_>>(),
            (0..50).filter(|&i| i != 7).collect::<Vec<_>>(),
            "the other records are delivered once"
        );
    }

    #[tokio::test]
    async fn a_row_over_the_record_limit_is_refused_naming_its_key() {
        let aws = TestAws::from_env();
        let (bucket, stream) = stream_into_bucket(&aws, "fh-big").await;
        let dest = destination(section(&aws, &stream, json!({})))
            .await
            .unwrap();
        let mut writer = dest.writer(0).await.unwrap();
        let big = "x".repeat(1_100_000);
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                key_field("order_id", DataType::Int64),
                Field::new("body", DataType::Utf8, false),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![1, 424242, 3])),
                Arc::new(StringArray::from(vec!["small", big.as_str(), "small"])),
            ],
        )
        .unwrap();
        let err = writer.load(batch).await.unwrap_err().to_string();
        assert!(
            err.contains("the row with order_id = 424242")
                && err.contains("1100")
                && err.contains(&format!("'{stream}'")),
            "{err}"
        );
        writer.finish().await.unwrap();
        assert!(
            delivered(&aws, &bucket).await.1.is_empty(),
            "no record of the refused batch is sent"
        );
    }

    /// The original layout: rows converted to the Glue table's column types, with the run's
    /// `_table_version`; INCREMENTAL refused without a view to read the offset from.
    #[tokio::test]
    async fn the_glue_layout_types_the_records_and_stamps_the_version() {
        let aws = TestAws::from_env();
        let (bucket, stream) = stream_into_bucket(&aws, "fh-glue").await;
        let glue = crate::aws::json_api::JsonApi::new(
            crate::aws::json_api::Service::Glue,
            &aws.sdk_config().await,
            Some(&aws.endpoint),
        )
        .unwrap();
        let db = unique_name("fhglue").replace('-', "_");
        for (operation, body) in [
            ("CreateDatabase", json!({"DatabaseInput": {"Name": db}})),
            (
                "CreateTable",
                json!({"DatabaseName": db, "TableInput": {"Name": "events",
                    "StorageDescriptor": {"Location": format!("s3://{bucket}/{PREFIX}"), "Columns": [
                        {"Name": "id", "Type": "bigint"}, {"Name": "amount", "Type": "decimal(8,3)"},
                        {"Name": "_table_version", "Type": "bigint"}]}}}),
            ),
        ] {
            glue.call(operation, &body)
                .await
                .unwrap_or_else(|e| panic!("{operation}: {e}"));
        }
        let keys = json!({"database": db, "table": "events", "glue_endpoint_url": aws.endpoint});
        let schema = Arc::new(Schema::new(vec![
            key_field("ID", DataType::Int32),
            Field::new("amount", DataType::Decimal128(6, 2), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(
                    Decimal128Array::from(vec![Some(125), None, Some(-1)])
                        .with_precision_and_scale(6, 2)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        let before = chrono::Utc::now().timestamp();
        let target = destination(section(&aws, &stream, keys.clone()))
            .await
            .unwrap();
        load(&target, vec![batch]).await;
        target.commit().await.unwrap();
        let rows = by_id(delivered(&aws, &bucket).await.1);
        let version = rows[&1]["_table_version"].as_i64().unwrap();
        assert!(version >= before && version <= chrono::Utc::now().timestamp());
        assert_eq!(
            rows[&1],
            json!({"id": 1, "amount": "1.250", "_table_version": version})
        );
        assert_eq!(
            rows[&2],
            json!({"id": 2, "amount": null, "_table_version": version})
        );
        assert_eq!(
            rows[&3],
            json!({"id": 3, "amount": "-0.010", "_table_version": version})
        );

        let incremental = FirehoseTarget::open(
            section(&aws, &stream, keys),
            TargetContext {
                replication_mode: ReplicationMode::Incremental,
                run_id: "test".into(),
            },
        )
        .await
        .err()
        .expect("no view, no offset")
        .to_string();
        assert!(
            incremental.contains("`view_database` and `pk` give one"),
            "{incremental}"
        );
    }
}
