//! The `influxdb` target against the InfluxDB-write-compatible server of `scripts/services.sh`
//! (VictoriaMetrics, `FASTLANE_TEST_INFLUX_URL`), read back through its export API, and against
//! loopback stubs for what that server cannot do (refuse a write, fail on demand).
//!
//! VictoriaMetrics stores each field as a series `<measurement>_<field>` labelled with the
//! tags, values as floats (booleans as 0/1), times in milliseconds; it drops string fields and
//! keeps every sample, duplicates included (so a point written twice shows).

use std::ops::Range;
use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use arrow::record_batch::RecordBatch;
use serde_json::{json, Value};

use super::stub::{Answer, Stub};
use super::{Config, InfluxTarget};
use crate::test_util::load;
use crate::TargetConnector as _;
use crate::{ReplicationMode, Target, TargetContext};

/// A section writing `measurement` to `url` (`extra` keys added or replaced).
pub(super) fn config(url: &str, measurement: &str, extra: Value) -> Config {
    let mut section =
        json!({ "url": url, "bucket": "fastlane", "org": "test", "measurement": measurement });
    if let (Some(map), Value::Object(extra)) = (section.as_object_mut(), extra) {
        map.extend(extra);
    }
    serde_json::from_value(section).expect("a valid influxdb target section")
}

pub(super) async fn open(config: Config) -> crate::Result<InfluxTarget> {
    let context = TargetContext {
        replication_mode: ReplicationMode::FullTable,
        run_id: "test".into(),
    };
    InfluxTarget::open(config, context).await
}

/// Milliseconds of a whole second an hour ago (inside any retention period).
pub(super) fn an_hour_ago_ms() -> i64 {
    (chrono::Utc::now().timestamp() - 3_600) * 1_000
}

/// Rows `ids`: tags `host` and `region` (a dictionary, null every 5th row), time `at` (one
/// second apart from `base_ms`), and fields of several types; row 13 has no field value, row
/// 7 a NaN ratio.
pub(super) fn metrics(ids: Range<i64>, base_ms: i64) -> RecordBatch {
    let ids: Vec<i64> = ids.collect();
    let field = |i: i64| i != 13;
    let region = DictionaryArray::<Int32Type>::new(
        Int32Array::from_iter(ids.iter().map(|i| (i % 5 != 0).then_some((i % 2) as i32))),
        Arc::new(StringArray::from(vec!["eu", "us"])),
    );
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "host",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("h{}", i % 3)),
            )),
        ),
        ("region", Arc::new(region)),
        (
            "at",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    ids.iter().map(|i| (base_ms + i * 1_000) * 1_000),
                )
                .with_timezone("UTC"),
            ),
        ),
        (
            "count",
            Arc::new(Int64Array::from_iter(
                ids.iter().map(|&i| field(i).then_some(i * 10 - 100)),
            )),
        ),
        (
            "ratio",
            Arc::new(Float64Array::from_iter(ids.iter().map(|&i| {
                field(i).then_some(if i == 7 { f64::NAN } else { i as f64 / 4.0 })
            }))),
        ),
        (
            "ok",
            Arc::new(BooleanArray::from_iter(
                ids.iter().map(|&i| field(i).then_some(i % 2 == 0)),
            )),
        ),
        (
            "size",
            Arc::new(UInt32Array::from_iter(
                ids.iter().map(|&i| field(i).then_some(i as u32 * 3)),
            )),
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from_iter(
                    ids.iter()
                        .map(|&i| field(i).then_some(i128::from(i) * 100 + 25)),
                )
                .with_precision_and_scale(10, 2)
                .expect("a valid decimal type"),
            ),
        ),
    ];
    RecordBatch::try_from_iter(columns).expect("a valid batch")
}

#[tokio::test]
async fn without_a_time_column_each_row_gets_its_own_write_time() {
    // Rows with the same tag set: stamped alike, InfluxDB would keep only the last of them.
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("host", Arc::new(StringArray::from(vec!["a", "a", "a"]))),
        ("v", Arc::new(Int64Array::from(vec![1, 2, 3]))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let stub = Stub::start(Vec::new(), None).await;
    let extra = json!({ "tag_columns": ["host"], "concurrency": 2 });
    let dest = open(config(&stub.url, "now", extra)).await.unwrap();
    let before = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    load(&dest, vec![batch.clone(), batch]).await;
    let after = chrono::Utc::now().timestamp_nanos_opt().unwrap();

    let mut times = Vec::new();
    for (head, body) in stub.requests() {
        assert!(
            head.contains("&precision=ns "),
            "stamped in nanoseconds: {head}"
        );
        for line in String::from_utf8(body).unwrap().lines() {
            assert!(line.starts_with("now,host=a v="), "{line}");
            times.push(line.rsplit(' ').next().unwrap().parse::<i64>().unwrap());
        }
    }
    assert_eq!(times.len(), 6, "both workers' rows: {times:?}");
    times.sort_unstable();
    times.dedup();
    assert_eq!(times.len(), 6, "no two rows share a time: {times:?}");
    assert!(
        times
            .iter()
            .all(|&at| (before - 2..=after + 12).contains(&at)),
        "{times:?} not within the run ({before}..={after})"
    );
    stub.stop().await;
}

#[tokio::test]
async fn a_refused_write_fails_at_once_with_the_servers_message() {
    let refusal = Answer::Status(
        400,
        "",
        r#"{"code":"invalid","message":"unable to parse 'x': bad timestamp"}"#,
    );
    let stub = Stub::start(vec![refusal], None).await;
    let extra = json!({ "time_column": "at", "retry_backoff_ms": 1 });
    let dest = open(config(&stub.url, "refused", extra)).await.unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    writer.load(metrics(0..3, an_hour_ago_ms())).await.unwrap();
    assert!(
        stub.requests().is_empty(),
        "3 lines wait for a full request or `finish`"
    );
    let err = writer.finish().await.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "target.influxdb: writing 3 point(s) to bucket 'fastlane' at {} was refused (attempt 1 \
             of 5): HTTP 400 Bad Request: unable to parse 'x': bad timestamp (invalid)",
            stub.url
        )
    );
    assert_eq!(stub.requests().len(), 1);
    dest.abort().await.unwrap();
}

#[tokio::test]
async fn requests_carry_the_query_the_body_type_and_the_credentials() {
    let stub = Stub::start(Vec::new(), None).await;
    let extra = json!({
        "time_column": "at", "user": "fl", "password": "s3cret", "precision": "us", "org": "my org"
    });
    let dest = open(config(&stub.url, "cpu", extra)).await.unwrap();
    load(&dest, vec![metrics(0..2, 1_000)]).await;
    let requests = stub.requests();
    let (head, body) = &requests[0];
    let head = head.to_ascii_lowercase();
    assert!(
        head.starts_with("post /api/v2/write?org=my+org&bucket=fastlane&precision=us http/1.1"),
        "{head}"
    );
    assert!(
        head.contains("\r\nauthorization: token fl:s3cret"),
        "{head}"
    );
    assert!(
        head.contains("\r\ncontent-type: text/plain; charset=utf-8"),
        "{head}"
    );
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.starts_with("cpu host=\"h0\",count=-100i,"), "{text}");
    assert!(text.ends_with(",price=1.25 2000000\n"), "{text}");
}

#[tokio::test]
async fn an_unreachable_server_fails_the_run_at_open_after_the_retries() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let extra = json!({ "max_attempts": 3, "retry_backoff_ms": 10 });
    let err = open(config(&url, "m", extra))
        .await
        .err()
        .expect("nothing listens")
        .to_string();
    assert!(
        err.starts_with(&format!(
            "target.influxdb: the server at {url} does not answer: cannot connect"
        )) && err.contains("after 3 attempt(s)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_gone_mid_run_fails_the_write_naming_url_bucket_and_attempts() {
    let stub = Stub::start(Vec::new(), None).await;
    let url = stub.url.clone();
    let extra = json!({ "time_column": "at", "max_attempts": 2, "retry_backoff_ms": 10 });
    let dest = open(config(&url, "gone", extra)).await.unwrap();
    stub.stop().await;
    let mut writer = dest.writer(0).await.unwrap();
    writer.load(metrics(0..4, an_hour_ago_ms())).await.unwrap();
    let err = writer.finish().await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "target.influxdb: writing 4 point(s) to bucket 'fastlane' at {url} failed after 2 \
             attempt(s): cannot connect"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn incremental_runs_are_refused_before_connecting() {
    let config = config("http://127.0.0.1:9", "cpu", json!({}));
    let context = TargetContext {
        replication_mode: ReplicationMode::Incremental,
        run_id: "test".into(),
    };
    let err = InfluxTarget::open(config, context)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.starts_with("replication_mode: the influxdb target (fastlane.cpu) takes FULL_TABLE"),
        "{err}"
    );
}

#[test]
fn config_problems_are_reported_together_naming_their_keys() {
    let both: Config = serde_json::from_value(json!({
        "url": "http://a", "host": "b", "database": "d", "bucket": "b", "measurement": " ",
        "tag_columns": ["t", "t"], "field_columns": ["t"], "time_column": "t",
        "batch_size": 0, "concurrency": 65, "max_attempts": 0, "token": "x", "token_env": "Y",
    }))
    .unwrap();
    let err = both.check().unwrap_err().to_string();
    for key in [
        "url",
        "bucket",
        "measurement",
        "tag_columns",
        "field_columns",
        "time_column",
        "batch_size",
        "concurrency",
        "max_attempts",
        "token_env",
    ] {
        assert!(
            err.contains(&format!("target.influxdb.{key}:")),
            "{key}: {err}"
        );
    }
    let neither: Config = serde_json::from_value(json!({ "measurement": "m" })).unwrap();
    let err = neither.check().unwrap_err().to_string();
    assert!(err.contains("`url`") && err.contains("`database`"), "{err}");

    let base = |section: Value| {
        let config: Config = serde_json::from_value(section).unwrap();
        config
            .check()
            .map(|e| e.base.to_string())
            .map_err(|e| e.to_string())
    };
    let host = |h: &str| json!({ "host": h, "database": "d", "measurement": "m" });
    assert_eq!(
        base(host("influx.internal")).unwrap(),
        "http://influx.internal:8086/"
    );
    assert_eq!(
        base(host("https://influx.internal")).unwrap(),
        "https://influx.internal:8086/"
    );
    assert_eq!(base(host("::1")).unwrap(), "http://[::1]:8086/");
    let prefixed = json!({ "url": "https://h/influx", "bucket": "b", "measurement": "m" });
    assert_eq!(base(prefixed).unwrap(), "https://h/influx/");
    let secret = json!({ "url": "http://u:p@h", "bucket": "b", "measurement": "m" });
    assert!(base(secret)
        .unwrap_err()
        .contains("must not hold credentials"));
    let ftp = json!({ "url": "ftp://h", "bucket": "b", "measurement": "m" });
    assert!(base(ftp).unwrap_err().starts_with("target.influxdb.url:"));
}

#[test]
fn target_id_is_database_dot_measurement_without_connecting() {
    let entry = crate::target_entry("influxdb").unwrap();
    let section = json!({ "host": "h", "database": "metrics", "measurement": "cpu" });
    assert_eq!(entry.target_id(&section), "metrics.cpu");
    let section = json!({ "url": "http://h", "bucket": "b", "measurement": "cpu" });
    assert_eq!(entry.target_id(&section), "b.cpu");
    let unreadable = json!({ "url": "http://h", "bucket": "b" });
    assert_eq!(entry.target_id(&unreadable), "influxdb");
    let err = entry
        .parse(&unreadable, ReplicationMode::FullTable)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("target.influxdb: missing field `measurement`"),
        "{err}"
    );
    let defaults: Config = serde_json::from_value(json!({ "measurement": "m" })).unwrap();
    assert_eq!(
        (
            defaults.batch_size,
            defaults.concurrency,
            defaults.max_attempts,
            defaults.precision().as_str()
        ),
        (5_000, 1, 5, "ns"),
        "without a time column, rows are stamped in nanoseconds"
    );
    let timed: Config =
        serde_json::from_value(json!({ "measurement": "m", "time_column": "t" })).unwrap();
    assert_eq!(timed.precision().as_str(), "ms", "the original's precision");
    // A coarse unit for the stamps of rows without a time column is refused up front.
    let coarse: Config = serde_json::from_value(
        json!({ "url": "http://h", "bucket": "b", "measurement": "m", "precision": "s" }),
    )
    .unwrap();
    let err = coarse.check().unwrap_err().to_string();
    assert!(
        err.contains("precision") && err.contains("time_column"),
        "{err}"
    );
    let fine: Config = serde_json::from_value(
        json!({ "url": "http://h", "bucket": "b", "measurement": "m", "precision": "ns" }),
    )
    .unwrap();
    assert!(fine.check().is_ok());
    let schema = serde_json::to_value(entry.schema()).unwrap();
    assert_eq!(schema["required"], json!(["measurement"]));
    assert_eq!(schema["additionalProperties"], json!(false));
}
