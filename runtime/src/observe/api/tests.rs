use reqwest::StatusCode;
use serde_json::json;

use super::courier::*;
use super::outbox::*;
use super::sampler::*;
use super::*;
use crate::metrics::{Progress, StageCount};
use chrono::DateTime;

#[test]
fn the_courier_pauses_100ms_doubling_to_5s_without_a_limit() {
    for unit in [0.0, 0.5, 0.999_999] {
        let delays: Vec<Duration> = (1..=12).map(|n| BACKOFF.delay_with(n, unit)).collect();
        for (i, delay) in delays.iter().enumerate() {
            let base = Duration::from_millis(100)
                .saturating_mul(1 << i)
                .min(Duration::from_secs(5));
            assert!(
                *delay >= base / 2,
                "attempt {}: {delay:?} < {base:?}/2",
                i + 1
            );
            assert!(*delay <= base, "attempt {}: {delay:?} > {base:?}", i + 1);
        }
        assert!(delays[0] <= Duration::from_millis(100));
        assert!(delays[11] >= Duration::from_millis(2500));
    }
    assert!(BACKOFF.allows(u32::MAX - 1));
}

fn sample(n: usize) -> MetricSample {
    let reading = Progress {
        rss_bytes: n as u64,
        ..Progress::default()
    };
    sample_between(&reading, &reading)
}

fn line(message: &str) -> LogLine {
    LogLine {
        seq: None,
        at: Utc::now(),
        level: LogLevel::Info,
        origin: "fastlane".into(),
        message: message.into(),
    }
}

fn reading(
    elapsed_ms: u64,
    extracted: (u64, u64),
    transformed: (u64, u64),
    loaded: u64,
    wasm_ms: u64,
) -> Progress {
    Progress {
        elapsed: Duration::from_millis(elapsed_ms),
        extracted: StageCount {
            rows: extracted.0,
            batches: 0,
            bytes: extracted.1,
        },
        transformed: StageCount {
            rows: transformed.0,
            batches: transformed.1,
            bytes: 0,
        },
        loaded: StageCount {
            rows: loaded,
            ..StageCount::default()
        },
        wasm_nanos: wasm_ms * 1_000_000,
        ..Progress::default()
    }
}

#[test]
fn rates_are_per_second_over_the_interval_between_two_snapshots() {
    let before = reading(1_000, (1_000, 10_000), (900, 9), 800, 50);
    let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123Z")
        .unwrap()
        .with_timezone(&Utc);
    let now = Progress {
        at,
        rss_bytes: 42,
        queue_to_transform: 3,
        queue_to_target: 1,
        ..reading(1_500, (3_000, 30_000), (2_900, 13), 2_000, 70)
    };
    let s = sample_between(&before, &now);
    assert_eq!(s.at, at);
    assert_eq!(
        (s.rows_extracted, s.rows_transformed, s.rows_loaded),
        (3_000, 2_900, 2_000)
    );
    assert_eq!(s.extract_rows_per_s, 4_000.0);
    assert_eq!(s.transform_rows_per_s, 4_000.0);
    assert_eq!(s.load_rows_per_s, 2_400.0);
    assert_eq!(s.extract_bytes_per_s, 40_000.0);
    assert_eq!(s.wasm_ms_per_batch, 5.0);
    assert_eq!(
        (s.rss_bytes, s.queue_to_transform, s.queue_to_target),
        (42, 3, 1)
    );

    // No time, no batch: zero rates, not NaN or infinity.
    let idle = sample_between(&now, &now);
    assert_eq!(
        (idle.extract_rows_per_s, idle.wasm_ms_per_batch),
        (0.0, 0.0)
    );
}

#[test]
fn one_sample_per_interval_from_the_readings_and_a_last_one_at_the_end() {
    let mut sampler = Sampler::new(Duration::from_secs(1));
    let at = |ms| reading(ms, (ms, 0), (0, 0), 0, 0);
    // Nothing before data moves, even at the end.
    assert!(sampler.next(&at(0), true).is_none());
    assert!(sampler.next(&at(0), false).is_none());
    let due: Vec<bool> = [250, 500, 750, 1_000, 1_250, 1_900, 2_000]
        .into_iter()
        .map(|ms| sampler.next(&at(ms), false).is_some())
        .collect();
    assert_eq!(due, [false, false, false, true, false, true, false]);
    let last = sampler.next(&at(2_100), true).unwrap();
    assert_eq!(last.rows_extracted, 2_100);
    assert_eq!(last.extract_rows_per_s, 1_000.0);
}

#[test]
fn the_outbox_sends_updates_then_batches_then_the_final_update_last() {
    let mut outbox = Outbox::default();
    for i in 0..(BATCH_ITEMS + 20) {
        outbox.metrics.push(sample(i));
    }
    outbox.logs.push(line("one"));
    outbox.last = Some(RunUpdate {
        status: Some(model::RunStatus::Completed),
        ..RunUpdate::default()
    });
    outbox.update = Some(RunUpdate {
        details: RunDetails {
            transform_name: Some("mask".into()),
            ..RunDetails::default()
        },
        ..RunUpdate::default()
    });
    let mut order = Vec::new();
    while let Some(item) = outbox.next_item() {
        order.push(match &item {
            Item::Update(_) => "update".to_string(),
            Item::Metrics(v) => format!("metrics {}", v.len()),
            Item::Logs(v) => format!("logs {}", v.len()),
            Item::Last(_) => "last".to_string(),
        });
        outbox.settle(true);
    }
    assert_eq!(
        order,
        ["update", "metrics 500", "metrics 20", "logs 1", "last"]
    );
    assert_eq!(outbox.delivered, 1 + BATCH_ITEMS as u64 + 20 + 1 + 1);
}

#[test]
fn delivery_counts_what_never_reached_the_api() {
    let mut outbox = Outbox {
        pipeline_registered: true,
        ..Default::default()
    };
    for i in 0..(METRICS_CAPACITY + 5) {
        outbox.metrics.push(sample(i));
    }
    outbox.logs.push(line("a"));
    outbox.logs.push(line("b"));
    let taken = outbox.next_item();
    assert!(matches!(taken, Some(Item::Metrics(ref v)) if v.len() == BATCH_ITEMS));
    outbox.last = Some(RunUpdate::default());
    let delivery = outbox.delivery();
    assert_eq!(delivery.delivered, 0);
    assert_eq!(delivery.dropped, 5);
    // The run not created, every sample (in flight or queued), both lines, the final update.
    assert_eq!(delivery.undelivered, 1 + METRICS_CAPACITY as u64 + 2 + 1);
    assert_eq!(delivery.lost(), delivery.undelivered + 5);
}

#[test]
fn updates_merge_and_send_only_the_fields_they_set() {
    let first = RunUpdate {
        details: RunDetails {
            transform_name: Some("mask".into()),
            start_offset: Some("41".into()),
            ..RunDetails::default()
        },
        ..RunUpdate::default()
    };
    let later = RunUpdate {
        details: RunDetails {
            start_offset: Some("42".into()),
            ..RunDetails::default()
        },
        status: Some(model::RunStatus::Failed),
        rows_loaded: Some(7),
        error: Some("boom".into()),
        ..RunUpdate::default()
    };
    let body = serde_json::to_value(merge(first, later)).unwrap();
    assert_eq!(
        body,
        json!({
            "transform_name": "mask",
            "start_offset": "42",
            "status": "failed",
            "rows_loaded": 7,
            "error": "boom"
        })
    );
    assert_eq!(
        serde_json::to_value(RunUpdate::default()).unwrap(),
        json!({})
    );
}

#[test]
fn statuses_decide_between_retrying_and_dropping() {
    let kind = |code: u16| {
        let status = StatusCode::from_u16(code).unwrap();
        match classify(status, String::new()) {
            Reply::Done => "done",
            Reply::Retry(_) => "retry",
            Reply::Missing(_) => "missing",
            Reply::Refused(_) => "refused",
        }
    };
    assert_eq!(kind(200), "done");
    assert_eq!(kind(201), "done");
    for code in [500, 502, 503, 429, 408] {
        assert_eq!(kind(code), "retry", "{code}");
    }
    assert_eq!(kind(404), "missing");
    for code in [400, 401, 403, 409, 413, 422] {
        assert_eq!(kind(code), "refused", "{code}");
    }
}

#[test]
fn api_error_bodies_give_their_message() {
    assert_eq!(
        error_detail(r#"{"error":"Unauthorized","message":"missing bearer token"}"#),
        ": missing bearer token"
    );
    assert_eq!(error_detail("  bad gateway \n"), ": bad gateway");
    assert_eq!(error_detail(""), "");
}

#[test]
fn log_lines_are_numbered_in_arrival_order() {
    let shared = Shared::default();
    for message in ["a", "b", "c"] {
        shared.push_log(line(message));
    }
    let numbers: Vec<_> = shared.lock().logs.take(10).iter().map(|l| l.seq).collect();
    assert_eq!(numbers, [Some(0), Some(1), Some(2)]);
}

#[test]
fn values_are_clipped_to_what_the_api_accepts() {
    assert_eq!(clip("ééé".into(), 2), "éé");
    assert_eq!(clip("abc".into(), 10), "abc");
    let long = Offset::Text("k".repeat(5000));
    assert_eq!(offset_text(&long).len(), model::MAX_OFFSET_CHARS);
    assert_eq!(offset_text(&Offset::Text("abc".into())), "abc");
    assert_eq!(offset_text(&Offset::UInt(u64::MAX)), "18446744073709551615");
}
