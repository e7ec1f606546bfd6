//! The summary of a run: a few lines on stdout as it ends, and (`--summary-json`) every
//! counter in a JSON file once its reports are delivered.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::api::ApiReport;
use super::progress::human;
use crate::metrics::rate;
use crate::run::{Observer, Outcome, RunEvent, RunInfo};

/// Prints the summary as the run ends and writes the JSON file when it is over.
pub struct Summary {
    json: Option<PathBuf>,
    api: Option<ApiReport>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    info: Option<RunInfo>,
    outcome: Option<Outcome>,
}

impl Summary {
    /// The summary, written to `json` too when given; `api` says what became of the reports
    /// of a run reported to the monitoring API.
    pub fn new(json: Option<PathBuf>, api: Option<ApiReport>) -> Self {
        Self {
            json,
            api,
            seen: Mutex::new(Seen::default()),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Observer for Summary {
    fn on_event(&self, event: &RunEvent) {
        match event {
            RunEvent::Started(info) => self.seen().info = Some(info.clone()),
            RunEvent::Finished(outcome) => {
                let mut seen = self.seen();
                if let (Some(info), false) = (&seen.info, outcome.failed_early) {
                    print!("{}", text(info, outcome));
                }
                seen.outcome = Some(outcome.clone());
            }
            _ => {}
        }
    }

    async fn finish(
        self: Box<Self>,
        deadline: Duration,
        give_up: CancellationToken,
    ) -> Vec<String> {
        let Some(path) = &self.json else {
            return Vec::new();
        };
        // What became of the API's reports is known once they are delivered or given up.
        let api = match &self.api {
            Some(api) => Some((api.run_id.clone(), api.settled(deadline, give_up).await)),
            None => None,
        };
        let (info, outcome) = {
            let mut seen = self.seen();
            (seen.info.take(), seen.outcome.take())
        };
        let (Some(info), Some(outcome)) = (info, outcome) else {
            return Vec::new();
        };
        let mut summary = to_json(&info, &outcome);
        if let (Some((run_id, delivery)), Some(fields)) = (api, summary.as_object_mut()) {
            fields.insert("api_run_id".into(), json!(run_id));
            fields.insert("api_undelivered".into(), json!(delivery.lost()));
        }
        match std::fs::write(
            path,
            serde_json::to_string_pretty(&summary).unwrap_or_default(),
        ) {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!("cannot write {}: {e}", path.display())],
        }
    }
}

/// The lines printed as a run ends.
fn text(info: &RunInfo, outcome: &Outcome) -> String {
    let p = &outcome.progress;
    let transform = match &outcome.transform {
        Some(t) => format!(
            "{}: {} rows out, {} dropped, {:.2}s in wasm",
            t.label(),
            p.transformed.rows,
            p.dropped(),
            p.wasm_nanos as f64 / 1e9
        ),
        None => "none (native path)".to_string(),
    };
    format!(
        "fastlane run {} in {:.2}s
  source     {:<10} {:>12} rows extracted
  transform  {transform}
  target     {:<10} {:>12} rows loaded
  throughput {} rows/s, {:.1} MB/s extracted; peak RSS {} MiB
",
        outcome.status.as_str(),
        p.elapsed.as_secs_f64(),
        info.source_type,
        p.extracted.rows,
        info.target_type,
        p.loaded.rows,
        human(rate(p.extracted.rows, p.elapsed)),
        rate(p.extracted.bytes, p.elapsed) / 1e6,
        p.peak_rss_bytes / (1024 * 1024)
    )
}

/// Every counter of the run, as `--summary-json` writes it.
fn to_json(info: &RunInfo, outcome: &Outcome) -> Value {
    let p = &outcome.progress;
    let seconds = |nanos: u64| nanos as f64 / 1e9;
    json!({
        "run_id": info.run_id,
        "status": outcome.status,
        "error": outcome.error,
        "source": info.source_type,
        "target": info.target_type,
        "transform": outcome.transform.as_ref().map(|t| t.label()),
        "rows_extracted": p.extracted.rows,
        "rows_transformed": p.transformed.rows,
        "rows_dropped": p.dropped(),
        "rows_loaded": p.loaded.rows,
        "batches_extracted": p.extracted.batches,
        "bytes_extracted": p.extracted.bytes,
        "wall_seconds": p.elapsed.as_secs_f64(),
        "wasm_seconds": seconds(p.wasm_nanos),
        "extract_seconds": seconds(p.extract_nanos),
        "load_seconds": seconds(p.load_nanos),
        "rows_per_second": rate(p.extracted.rows, p.elapsed),
        "peak_rss_bytes": p.peak_rss_bytes,
        "peak_in_flight_batches": p.peak_in_flight,
        "startup_to_first_load_seconds": p.first_loaded.map(|d| d.as_secs_f64()),
        "recycled_instances": p.recycled_instances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Progress, StageCount};
    use crate::run::TransformReady;
    use fastlane_connectors::ReplicationMode;
    use fastlane_wire::model::RunStatus;

    fn run() -> (RunInfo, Outcome) {
        let info = RunInfo {
            run_id: "r1".into(),
            pipeline_id: "generate-file-out.csv".into(),
            source_type: "generate".into(),
            target_type: "file".into(),
            target_id: "out.csv".into(),
            replication_mode: ReplicationMode::FullTable,
            started_at: chrono::Utc::now(),
            config: json!({}),
        };
        let count = |rows| StageCount {
            rows,
            batches: 2,
            bytes: rows * 10,
        };
        let outcome = Outcome {
            status: RunStatus::Completed,
            error: None,
            end_offset: None,
            progress: Progress {
                elapsed: Duration::from_secs(2),
                extracted: count(1_000),
                transformed: count(900),
                loaded: count(900),
                wasm_nanos: 250_000_000,
                ..Progress::default()
            },
            transform: Some(TransformReady {
                name: "mask".into(),
                version: "0.1.0".into(),
                digest: "ab".into(),
                cached: true,
                workers: 2,
            }),
            config_error: false,
            failed_early: false,
        };
        (info, outcome)
    }

    #[test]
    fn the_summary_gives_each_stage_and_the_rates() {
        let (info, outcome) = run();
        let text = text(&info, &outcome);
        assert!(
            text.starts_with("fastlane run completed in 2.00s\n"),
            "{text}"
        );
        assert!(text.contains("transform  mask 0.1.0 ×2 (cached compiled component): 900 rows out, 100 dropped, 0.25s in wasm"), "{text}");
        assert!(
            text.contains("target     file                900 rows loaded"),
            "{text}"
        );
        assert!(
            text.contains("throughput 500 rows/s, 0.0 MB/s extracted"),
            "{text}"
        );
        let json = to_json(&info, &outcome);
        assert_eq!(json["status"], "completed");
        assert_eq!(json["rows_dropped"], 100);
        assert_eq!(json["rows_per_second"], 500.0);
        assert_eq!(
            json["transform"],
            "mask 0.1.0 ×2 (cached compiled component)"
        );
    }
}
