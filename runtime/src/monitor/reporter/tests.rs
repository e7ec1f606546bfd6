use reqwest::StatusCode;
use serde_json::json;

use super::courier::*;
use super::outbox::*;
use super::sampler::*;
use super::*;

#[test]
fn pipeline_ids_keep_safe_characters_and_replace_the_rest() {
    assert_eq!(
        pipeline_id("mysql", "s3", "lake/orders"),
        "mysql-s3-lake_orders"
    );
    assert_eq!(
        pipeline_id("generate", "file", "/tmp/out dir/été.csv"),
        "generate-file-_tmp_out_dir__t_.csv"
    );
    assert_eq!(
        pipeline_id("mysql", "mysql", "shop.orders_2"),
        "mysql-mysql-shop.orders_2"
    );
    let long = pipeline_id("file", "file", &"x".repeat(500));
    assert_eq!(long.len(), 200);
    assert!(long.starts_with("file-file-xxx"));
}

#[test]
fn backoff_doubles_from_100ms_to_a_5s_cap_within_the_jitter() {
    for unit in [0.0, 0.5, 0.999_999] {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay(unit)).collect();
        for (attempt, delay) in delays.iter().enumerate() {
            let base = BACKOFF_START.saturating_mul(1 << attempt).min(BACKOFF_CAP);
            assert!(
                *delay >= base.mul_f64(0.9),
                "attempt {attempt}: {delay:?} < {base:?}"
            );
            assert!(
                *delay <= base.mul_f64(1.1),
                "attempt {attempt}: {delay:?} > {base:?}"
            );
            assert!(*delay <= BACKOFF_CAP, "attempt {attempt}: {delay:?}");
        }
        assert!(delays[0] <= Duration::from_millis(110));
        assert!(delays[11] >= Duration::from_millis(4500));
        backoff.reset();
        assert!(backoff.next_delay(unit) <= Duration::from_millis(110));
    }
    let mut backoff = Backoff::default();
    assert!(backoff.next_delay(f64::NAN) <= Duration::from_millis(110));
}

#[test]
fn jitter_stays_in_the_unit_interval() {
    for _ in 0..1000 {
        let unit = jitter_unit();
        assert!((0.0..1.0).contains(&unit), "{unit}");
    }
}

#[test]
fn a_full_buffer_drops_the_oldest_samples_or_the_newest_lines_and_counts_them() {
    let mut metrics = Bounded::new(3, Overflow::DropOldest);
    let mut logs = Bounded::new(3, Overflow::DropNewest);
    for i in 0..5 {
        metrics.push(i);
        logs.push(i);
    }
    assert_eq!((metrics.dropped, logs.dropped), (2, 2));
    assert_eq!(metrics.take(10), [2, 3, 4]);
    assert_eq!(logs.take(2), [0, 1]);
    assert_eq!(logs.take(10), [2]);
    assert_eq!(logs.len(), 0);
    logs.push(9);
    assert_eq!(logs.clear(), 1);
}

fn sample(n: usize) -> MetricSample {
    sample_between(
        &Counters::default(),
        &Counters::default(),
        Duration::from_secs(1),
        Gauges {
            at: Utc::now(),
            rss_bytes: n as u64,
            queue_to_transform: 0,
            queue_to_target: 0,
        },
    )
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

#[test]
fn rates_are_per_second_over_the_interval_between_two_snapshots() {
    let before = Counters {
        extracted_rows: 1_000,
        extracted_bytes: 10_000,
        transformed_rows: 900,
        transformed_batches: 9,
        loaded_rows: 800,
        wasm_nanos: 50_000_000,
    };
    let now = Counters {
        extracted_rows: 3_000,
        extracted_bytes: 30_000,
        transformed_rows: 2_900,
        transformed_batches: 13,
        loaded_rows: 2_000,
        wasm_nanos: 70_000_000,
    };
    let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123Z")
        .unwrap()
        .with_timezone(&Utc);
    let gauges = Gauges {
        at,
        rss_bytes: 42,
        queue_to_transform: 3,
        queue_to_target: 1,
    };
    let s = sample_between(&before, &now, Duration::from_millis(500), gauges);
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
    let gauges = Gauges {
        at,
        rss_bytes: 0,
        queue_to_transform: 0,
        queue_to_target: 0,
    };
    let idle = sample_between(&now, &now, Duration::ZERO, gauges);
    assert_eq!(
        (idle.extract_rows_per_s, idle.wasm_ms_per_batch),
        (0.0, 0.0)
    );
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
    assert_eq!(
        offset_text(&long).len(),
        fastlane_api::model::MAX_OFFSET_CHARS
    );
    assert_eq!(offset_text(&Offset::Text("abc".into())), "abc");
    assert_eq!(offset_text(&Offset::UInt(u64::MAX)), "18446744073709551615");
}
