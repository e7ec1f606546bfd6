//! Tests against the InfluxDB-compatible test server (`scripts/services.sh`): points written, read back and compared.

use super::stub::{Answer, Stub};
use super::tests::{an_hour_ago_ms, config, metrics, open};
use crate::test_util::load;
use crate::Target;
use arrow::array::*;
use arrow::record_batch::RecordBatch;
use serde_json::json;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// `fl_{tag}_{pid}_{n}`: a measurement of its own for each test.
fn unique(tag: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("fl_{tag}_{}_{n}", std::process::id())
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn server_url() -> String {
    std::env::var("FASTLANE_TEST_INFLUX_URL").unwrap_or_else(|_| {
        panic!(
            "FASTLANE_TEST_INFLUX_URL is not set: start the test services with \
             `eval \"$(scripts/services.sh up)\"` (scripts/test.sh does)"
        )
    })
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
