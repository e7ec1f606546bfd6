//! Run-level behaviour: failures fail loudly and leave the target as it was, stop requests
//! drain, and compiled components are reused.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use common::*;
use fastlane::connectors::{self, registry, ReplicationMode, SourceContext, Target, Writer};
use fastlane::metrics::RunMetrics;
use fastlane::pipeline::{Pipeline, Shutdown};
use fastlane::run::commit::Settle;
use fastlane::run::Observers;
use fastlane_wire::model::RunStatus;
use serde_json::json;

/// A target whose writer fails on its `fail_at`-th batch, recording commit/abort.
#[derive(Default)]
struct FailingTarget {
    fail_at: usize,
    committed: Arc<AtomicBool>,
    aborted: Arc<AtomicBool>,
}

struct FailingWriter {
    seen: Arc<AtomicUsize>,
    fail_at: usize,
}

#[async_trait]
impl Writer for FailingWriter {
    async fn load(&mut self, _batch: RecordBatch) -> connectors::Result<()> {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(connectors::ConnectorError::Other(
                "disk full (on purpose)".into(),
            ));
        }
        Ok(())
    }
    async fn finish(&mut self) -> connectors::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Target for FailingTarget {
    fn target_id(&self) -> String {
        "failing".into()
    }
    async fn writer(&self, _worker: usize) -> connectors::Result<Box<dyn Writer>> {
        Ok(Box::new(FailingWriter {
            seen: Arc::default(),
            fail_at: self.fail_at,
        }))
    }
    async fn commit(&self) -> connectors::Result<()> {
        self.committed.store(true, Ordering::SeqCst);
        Ok(())
    }
    async fn abort(&self) -> connectors::Result<()> {
        self.aborted.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_fails_the_run_and_rolls_back() {
    let source = registry::open_source(
        "generate",
        &json!({ "rows": 100_000, "batch_size": 1000 }),
        SourceContext::default(),
    )
    .await
    .unwrap();
    let target = FailingTarget {
        fail_at: 3,
        ..Default::default()
    };
    let (committed, aborted) = (target.committed.clone(), target.aborted.clone());
    let pipeline = Pipeline {
        source,
        target: Box::new(target),
        transform: None,
        max_buffered_batches: 4,
        add_op_fields: false,
    };
    let (shutdown, metrics) = (Shutdown::default(), RunMetrics::new());
    let drained = pipeline.run(shutdown.clone(), metrics.clone()).await;
    let outcome = Settle {
        mode: ReplicationMode::FullTable,
        allow_empty: false,
        shutdown: &shutdown,
        progress: metrics.progress(),
        observers: &Observers::new(),
    }
    .settle(drained)
    .await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap();
    assert!(
        error.contains("target failing: batch 2: disk full (on purpose)"),
        "{error}"
    );
    assert!(
        aborted.load(Ordering::SeqCst),
        "the target was not rolled back"
    );
    assert!(
        !committed.load(Ordering::SeqCst),
        "a failed run was committed"
    );
}

#[test]
fn an_unwritable_target_fails_before_data_moves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "a file, not a directory").unwrap();
    let out = run_config(
        dir.path(),
        &json!({ "source": { "generate": { "rows": 1000 } }, "target": { "file": { "path": "blocker/out.csv" } } }),
        &[],
    );
    assert_fails(&out, 1, &["blocker"]);
}

#[test]
fn a_transform_failing_midway_leaves_the_previous_target_intact() {
    let dir = tempfile::tempdir().unwrap();
    let config = |transform: serde_json::Value| {
        json!({
            "source": { "generate": { "rows": 50_000, "batch_size": 5_000 } },
            "transform": transform,
            "target": { "file": { "path": "orders.parquet" } },
            "replication_mode": "FULL_TABLE"
        })
    };
    assert_ok(&run_config(
        dir.path(),
        &config(json!({ "wasm": wasm("passthrough") })),
        &[],
    ));
    let before = read_parquet(&dir.path().join("orders.parquet"));
    assert_eq!(before.num_rows(), 50_000);
    // Run it again: same result.
    assert_ok(&run_config(
        dir.path(),
        &config(json!({ "wasm": wasm("passthrough") })),
        &[],
    ));
    assert_eq!(read_parquet(&dir.path().join("orders.parquet")), before);
    // Fails on its third batch.
    let failing = json!({ "wasm": wasm("hostile"), "concurrency": 1, "config": { "mode": "fail-after", "batches": 2 } });
    let out = run_config(
        dir.path(),
        &config(failing),
        &["--summary-json", "summary.json"],
    );
    assert_fails(
        &out,
        1,
        &["transform 'hostile' batch 2: failed: failing on purpose"],
    );
    assert_eq!(
        read_parquet(&dir.path().join("orders.parquet")),
        before,
        "the previous table changed"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "failed");
}

#[test]
fn malformed_input_fails_the_run_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-1.jsonl"), "{\"id\":1,\"v\":\"x\"}\n").unwrap();
    std::fs::write(
        dir.path().join("a-2.jsonl"),
        "{\"id\":2,\"v\":\"y\"}\n{\"id\": oops}\n",
    )
    .unwrap();
    let out = run_config(
        dir.path(),
        &json!({ "source": { "file": { "path": "a-*.jsonl" } }, "target": { "file": { "path": "out.jsonl" } } }),
        &[],
    );
    assert_fails(&out, 1, &["a-2.jsonl"]);
    assert!(
        !dir.path().join("out.jsonl").exists(),
        "a failed run left a partial target"
    );
}

/// A long run of `mode` from `generate` into `out.csv`, stopped by SIGTERM after 1.5 s.
fn stopped_run(mode: &str) -> (tempfile::TempDir, std::process::Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.csv"), "previous\n").unwrap();
    let config = json!({
        "source": { "generate": { "rows": 500_000_000u64, "batch_size": 10_000 } },
        "target": { "file": { "path": "out.csv" } },
        "replication_mode": mode,
    });
    std::fs::write(dir.path().join("pipeline.json"), config.to_string()).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args([
            "run",
            "--config",
            "pipeline.json",
            "--summary-json",
            "summary.json",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    common::terminate(child.id());
    let out = child.wait_with_output().unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    (dir, out, summary)
}

#[test]
fn sigterm_drains_an_incremental_run_and_reports_exited() {
    let (_dir, out, summary) = stopped_run("INCREMENTAL");
    assert_fails(&out, 130, &["stop requested"]);
    assert_eq!(summary["status"], "exited");
    assert!(
        summary["rows_loaded"].as_u64().unwrap() > 0,
        "nothing moved before the signal: {summary}"
    );
    assert_eq!(
        summary["rows_loaded"], summary["rows_extracted"],
        "in-flight batches were not drained: {summary}"
    );
}

#[test]
fn sigterm_stops_a_full_table_run_at_once_without_replacing_the_target() {
    let (dir, out, summary) = stopped_run("FULL_TABLE");
    assert_fails(&out, 130, &["stop requested", "FULL_TABLE"]);
    assert_eq!(summary["status"], "exited");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "previous\n"
    );
}

#[test]
fn a_second_run_reuses_the_compiled_component() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |summary: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
            .args([
                "run",
                "--source",
                "generate",
                "--target",
                "file",
                "--config",
                "pipeline.json",
                "--summary-json",
                summary,
            ])
            .args(["--transform", wasm("passthrough").to_str().unwrap()])
            .current_dir(dir.path())
            .env("FASTLANE_CACHE_DIR", &cache)
            .output()
            .unwrap()
    };
    std::fs::write(dir.path().join("pipeline.json"), json!({ "source": { "generate": { "rows": 10 } }, "target": { "file": { "path": "o.csv" } } }).to_string()).unwrap();
    assert_ok(&run("first.json"));
    assert_ok(&run("second.json"));
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.path().join(f)).unwrap()).unwrap()
    };
    assert!(read("first.json")["transform"]
        .as_str()
        .unwrap()
        .contains("freshly compiled"));
    assert!(read("second.json")["transform"]
        .as_str()
        .unwrap()
        .contains("cached"));
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(
        cached.len(),
        1,
        "one precompiled artifact per component and engine"
    );
}
