//! The `influxdb` target against the InfluxDB-write-compatible server of `scripts/services.sh`
//! (VictoriaMetrics, `FASTLANE_TEST_INFLUX_URL`), read back through its export API, and against
//! loopback stubs for what that server cannot do (refuse a write, fail on demand).
//!
//! VictoriaMetrics stores each field as a series `<measurement>_<field>` labelled with the
//! tags, values as floats (booleans as 0/1), times in milliseconds; it drops string fields and
//! keeps every sample, duplicates included (so a point written twice shows).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::*;
use arrow::datatypes::*;
use arrow::record_batch::RecordBatch;
use serde_json::{json, Value};

use super::stub::{Answer, Stub};
use super::{Config, InfluxTarget};
use crate::test_util::load;
use crate::{ReplicationMode, Target, TargetContext};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// `fl_{tag}_{pid}_{n}`: a measurement of its own for each test.
fn unique(tag: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("fl_{tag}_{}_{n}", std::process::id())
}

fn server_url() -> String {
    std::env::var("FASTLANE_TEST_INFLUX_URL").unwrap_or_else(|_| {
        panic!(
            "FASTLANE_TEST_INFLUX_URL is not set: start the test services with \
             `eval \"$(scripts/services.sh up)\"` (scripts/test.sh does)"
        )
    })
}

/// A section writing `measurement` to `url` (`extra` keys added or replaced).
fn config(url: &str, measurement: &str, extra: Value) -> Config {
    let mut section =
        json!({ "url": url, "bucket": "fastlane", "org": "test", "measurement": measurement });
    if let (Some(map), Value::Object(extra)) = (section.as_object_mut(), extra) {
        map.extend(extra);
    }
    serde_json::from_value(section).expect("a valid influxdb target section")
}

async fn open(config: Config) -> crate::Result<InfluxTarget> {
    let context = TargetContext {
        replication_mode: ReplicationMode::FullTable,
        run_id: "test".into(),
    };
    InfluxTarget::open(config, context).await
}

/// One series of the server's export.
#[derive(Debug, serde::Deserialize)]
struct Series {
    metric: BTreeMap<String, String>,
    values: Vec<f64>,
    timestamps: Vec<i64>,
}

/// (field, tags, time in ms) → the values stored there (two when a point was stored twice).
type Samples = BTreeMap<(String, BTreeMap<String, String>, i64), Vec<f64>>;

/// The samples of `measurement` among the series `selector` matches (flushed first).
async fn samples(selector: &str, measurement: &str) -> Samples {
    let url = server_url();
    let http = reqwest::Client::new();
    let flushed = http.get(format!("{url}/internal/force_flush")).send().await;
    flushed
        .and_then(|r| r.error_for_status())
        .expect("flushing");
    let export = http
        .get(format!("{url}/api/v1/export"))
        .query(&[("match[]", selector)])
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("exporting");
    let text = export.text().await.expect("the export's body");
    let mut out = Samples::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut series: Series =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let name = series.metric.remove("__name__").unwrap_or_default();
        let Some(field) = name.strip_prefix(&format!("{measurement}_")) else {
            panic!("series {name} is not of measurement {measurement}");
        };
        for (at, value) in series.timestamps.iter().zip(&series.values) {
            let key = (field.to_string(), series.metric.clone(), *at);
            out.entry(key).or_default().push(*value);
        }
    }
    out
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Milliseconds of a whole second an hour ago (inside any retention period).
fn an_hour_ago_ms() -> i64 {
    (chrono::Utc::now().timestamp() - 3_600) * 1_000
}

/// Rows `ids`: tags `host` and `region` (a dictionary, null every 5th row), time `at` (one
/// second apart from `base_ms`), and fields of several types; row 13 has no field value, row
/// 7 a NaN ratio.
fn metrics(ids: Range<i64>, base_ms: i64) -> RecordBatch {
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

/// What [`metrics`] rows `ids` become in VictoriaMetrics.
fn expected(ids: Range<i64>, base_ms: i64) -> Samples {
    let mut out = Samples::new();
    for i in ids.filter(|&i| i != 13) {
        let host = format!("h{}", i % 3);
        let mut labels = tags(&[("host", host.as_str())]);
        if i % 5 != 0 {
            labels.insert("region".into(), if i % 2 == 0 { "eu" } else { "us" }.into());
        }
        let mut fields = vec![
            ("count", (i * 10 - 100) as f64),
            ("ok", if i % 2 == 0 { 1.0 } else { 0.0 }),
            ("size", (i * 3) as f64),
            ("price", i as f64 + 0.25),
        ];
        if i != 7 {
            fields.push(("ratio", i as f64 / 4.0));
        }
        for (field, value) in fields {
            out.insert(
                (field.into(), labels.clone(), base_ms + i * 1_000),
                vec![value],
            );
        }
    }
    out
}

#[tokio::test]
async fn rows_become_points_with_their_tags_fields_and_times() {
    let measurement = unique("rows");
    let base_ms = an_hour_ago_ms();
    let extra = json!({
        "tag_columns": ["region", "host"], "time_column": "at", "batch_size": 7, "concurrency": 2
    });
    let dest = open(config(&server_url(), &measurement, extra))
        .await
        .unwrap();
    assert_eq!(
        (dest.target_id(), dest.workers(), dest.needs_order()),
        (format!("fastlane.{measurement}"), 2, false)
    );
    let batches = (0..4)
        .map(|b| metrics(b * 10..b * 10 + 10, base_ms))
        .collect();
    load(&dest, batches).await;
    dest.commit().await.unwrap();

    assert_eq!(dest.client.written(), 39, "40 rows, one without any field");
    assert_eq!(dest.left_out.rows_without_fields.load(Ordering::Relaxed), 1);
    assert_eq!(dest.left_out.non_finite.load(Ordering::Relaxed), 1);
    let stored = samples(&format!("{{__name__=~\"{measurement}_.+\"}}"), &measurement).await;
    assert_eq!(stored, expected(0..40, base_ms));
}

#[tokio::test]
async fn names_that_need_escaping_read_back_intact() {
    let probe = unique("esc");
    let measurement = format!("{probe} m,x=y\\z ✓");
    let at = an_hour_ago_ms();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("probe", Arc::new(StringArray::from(vec![probe.as_str()]))),
        (
            "t k,e=y",
            Arc::new(StringArray::from(vec!["v a,l=u\\e ✓ \"q\""])),
        ),
        ("back\\", Arc::new(StringArray::from(vec!["end\\"]))),
        ("a\\,b", Arc::new(StringArray::from(vec!["c\\\\d"]))),
        ("f i,e=ld\\x", Arc::new(Float64Array::from(vec![1.5]))),
        ("at", Arc::new(TimestampMillisecondArray::from(vec![at]))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let extra =
        json!({ "tag_columns": ["probe", "t k,e=y", "back\\", "a\\,b"], "time_column": "at" });
    let dest = open(config(&server_url(), &measurement, extra))
        .await
        .unwrap();
    load(&dest, vec![batch]).await;

    let stored = samples(&format!("{{probe=\"{probe}\"}}"), &measurement).await;
    let labels = tags(&[
        ("probe", probe.as_str()),
        ("t k,e=y", "v a,l=u\\e ✓ \"q\""),
        ("back\\", "end\\"),
        ("a\\,b", "c\\\\d"),
    ]);
    let want = Samples::from([(("f i,e=ld\\x".to_string(), labels, at), vec![1.5])]);
    assert_eq!(stored, want);
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
async fn writes_answered_503_are_retried_after_retry_after_and_stored_once() {
    let measurement = unique("retry");
    let busy = Answer::Status(
        503,
        "Retry-After: 0\r\n",
        r#"{"code":"unavailable","message":"busy"}"#,
    );
    let stub = Stub::start(vec![busy; 2], Some(server_url())).await;
    // A backoff of 20 s: only the server's Retry-After (0) lets the test end quickly.
    let extra = json!({
        "tag_columns": ["host", "region"], "time_column": "at", "retry_backoff_ms": 20_000
    });
    let dest = open(config(&stub.url, &measurement, extra)).await.unwrap();
    let base_ms = an_hour_ago_ms();
    let started = Instant::now();
    load(&dest, vec![metrics(0..5, base_ms)]).await;
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());

    let requests = stub.requests();
    assert_eq!(requests.len(), 3, "two refusals, then the write");
    assert!(
        requests.iter().all(|(_, body)| body == &requests[0].1),
        "the same body each time"
    );
    let stored = samples(&format!("{{__name__=~\"{measurement}_.+\"}}"), &measurement).await;
    assert_eq!(stored, expected(0..5, base_ms), "every point once");
    assert_eq!(dest.client.written(), 5);
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
async fn columns_that_are_missing_or_cannot_be_tags_fail_the_first_batch() {
    let measurement = unique("types");
    let extra = json!({ "tag_columns": ["nope", "ratio"], "time_column": "at" });
    let dest = open(config(&server_url(), &measurement, extra))
        .await
        .unwrap();
    let mut writer = dest.writer(0).await.unwrap();
    let err = writer
        .load(metrics(0..3, an_hour_ago_ms()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "target.influxdb: tag column `nope` is not in the batch (its columns: host,"
        ) && err.contains("tag column `ratio` is Float64"),
        "{err}"
    );
    writer.finish().await.unwrap();
    let stored = samples(&format!("{{__name__=~\"{measurement}_.+\"}}"), &measurement).await;
    assert!(stored.is_empty(), "nothing is written: {stored:?}");
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
