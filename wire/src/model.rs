//! What the API accepts and returns: typed objects whose schemas make up the OpenAPI document.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object, Union};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest offset (start or end) stored, in characters.
pub const MAX_OFFSET_CHARS: usize = 1000;
/// Longest name (transform, log origin) stored, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest text (error, log message) stored, in characters.
pub const MAX_TEXT_CHARS: usize = 65536;
/// Longest target id stored, in characters.
pub const MAX_TARGET_ID_CHARS: usize = 1000;

/// How a run stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Moving data.
    Running,
    /// Source exhausted, everything loaded and committed.
    Completed,
    /// A stage failed; the target was rolled back.
    Failed,
    /// Stopped on request (Ctrl-C/SIGTERM).
    Exited,
}

impl RunStatus {
    /// Every status, in a stable order.
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Exited,
    ];

    /// The stored (and JSON) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Exited => "exited",
        }
    }

    /// Parse the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// A finished run's status never changes again.
    pub fn is_finished(self) -> bool {
        self != RunStatus::Running
    }
}

/// The run's replication mode.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplicationMode {
    /// Everything copied, the target replaced.
    FullTable,
    /// Resumed after the target's largest key.
    Incremental,
}

impl ReplicationMode {
    /// The stored (and JSON) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicationMode::FullTable => "FULL_TABLE",
            ReplicationMode::Incremental => "INCREMENTAL",
        }
    }
}

/// Severity of a log line.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Finest detail.
    Trace,
    /// Diagnostics.
    Debug,
    /// Progress.
    Info,
    /// Something to look at.
    Warn,
    /// A failure.
    Error,
}

impl LogLevel {
    /// The stored number: a minimum-level filter is `severity >= level.severity()`.
    pub fn severity(self) -> i16 {
        match self {
            LogLevel::Trace => 10,
            LogLevel::Debug => 20,
            LogLevel::Info => 30,
            LogLevel::Warn => 40,
            LogLevel::Error => 50,
        }
    }

    /// The level of a stored number.
    pub fn from_severity(severity: i16) -> Self {
        match severity {
            ..=10 => LogLevel::Trace,
            11..=20 => LogLevel::Debug,
            21..=30 => LogLevel::Info,
            31..=40 => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }
}

/// A pipeline as a runner registers it.
#[derive(Object, Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct PipelineSpec {
    /// Source connector type (e.g. `mysql`).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub source_type: String,
    /// Target connector type (e.g. `s3`).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub target_type: String,
    /// The target's own id (e.g. `db.table`, `bucket/prefix`).
    #[oai(validator(min_length = 1, max_length = 1000))]
    pub target_id: String,
    /// The pipeline config. Secrets are redacted before it is stored.
    pub config: BTreeMap<String, Value>,
}

/// A pipeline to create under a chosen id.
#[derive(Object, Clone, Debug, Deserialize)]
pub struct NewPipeline {
    /// 1 to 200 characters of `A-Z a-z 0-9 . _ -`.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[A-Za-z0-9._-]+$"))]
    pub id: String,
    /// What the pipeline is.
    #[oai(flatten)]
    #[serde(flatten)]
    pub spec: PipelineSpec,
}

/// A stored pipeline.
#[derive(Object, Clone, Debug)]
pub struct Pipeline {
    /// `{source}-{target}-{target_id}` as the runner derives it.
    pub id: String,
    /// What the pipeline is.
    #[oai(flatten)]
    pub spec: PipelineSpec,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
    /// When it was last registered or changed.
    pub updated_at: DateTime<Utc>,
}

/// A page of pipelines.
#[derive(Object, Clone, Debug)]
pub struct PipelinePage {
    /// This page, by id.
    pub items: Vec<Pipeline>,
    /// Pipelines in all.
    pub total: u64,
}

/// A run as its runner starts it.
#[derive(Object, Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct NewRun {
    /// The runner's id for the run (a UUID); a retried create with the same id is not a
    /// duplicate. Generated when absent.
    #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Defaults to `running`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    /// Defaults to now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// What else is known when the run starts.
    #[oai(flatten)]
    #[serde(flatten)]
    pub details: RunDetails,
}

/// What a runner may learn about its run at the start or along the way.
#[derive(Object, Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct RunDetails {
    /// FULL_TABLE or INCREMENTAL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_mode: Option<ReplicationMode>,
    /// The key the run resumes after.
    #[oai(validator(max_length = 1000))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_offset: Option<String>,
    /// The transform's name.
    #[oai(validator(max_length = 200))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform_name: Option<String>,
    /// SHA-256 (hex) of the transform component.
    #[oai(validator(max_length = 128))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform_hash: Option<String>,
    /// The transform's version (from its `describe`).
    #[oai(validator(max_length = 100))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform_version: Option<String>,
}

/// Changes to a run; absent fields stay as they are.
#[derive(Object, Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct RunUpdate {
    /// A finished run's status cannot change (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    /// When the run ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The largest key the target held when the run ended.
    #[oai(validator(max_length = 1000))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_offset: Option<String>,
    /// Rows read from the source.
    #[oai(validator(minimum(value = "0")))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_extracted: Option<i64>,
    /// Rows out of the transform.
    #[oai(validator(minimum(value = "0")))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_transformed: Option<i64>,
    /// Rows written to the target.
    #[oai(validator(minimum(value = "0")))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_loaded: Option<i64>,
    /// Rows the transform dropped.
    #[oai(validator(minimum(value = "0")))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_dropped: Option<i64>,
    /// Why the run failed.
    #[oai(validator(max_length = 65536))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Replication mode, start offset, transform.
    #[oai(flatten)]
    #[serde(flatten)]
    pub details: RunDetails,
}

/// A stored run. Fields without a value are left out.
#[derive(Object, Clone, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct Run {
    /// The run's id.
    pub id: String,
    /// Its pipeline.
    pub pipeline_id: String,
    /// How it stands.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// FULL_TABLE or INCREMENTAL.
    pub replication_mode: Option<String>,
    /// The key it resumed after.
    pub start_offset: Option<String>,
    /// The largest key the target held when it ended.
    pub end_offset: Option<String>,
    /// Rows read from the source.
    pub rows_extracted: i64,
    /// Rows out of the transform.
    pub rows_transformed: i64,
    /// Rows written to the target.
    pub rows_loaded: i64,
    /// Rows the transform dropped.
    pub rows_dropped: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// The transform's name.
    pub transform_name: Option<String>,
    /// SHA-256 (hex) of the transform component.
    pub transform_hash: Option<String>,
    /// The transform's version.
    pub transform_version: Option<String>,
}

/// A page of runs.
#[derive(Object, Clone, Debug)]
pub struct RunPage {
    /// This page, newest first.
    pub items: Vec<Run>,
    /// Runs matching the filter in all.
    pub total: u64,
}

/// One sample of a run's measurements; rates are per second over the sampling interval. A run
/// has one sample per `at`: a sample re-sent with the same time is stored once.
#[derive(Object, Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct MetricSample {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Rows extracted so far.
    #[oai(validator(minimum(value = "0")))]
    pub rows_extracted: i64,
    /// Rows out of the transform so far.
    #[oai(validator(minimum(value = "0")))]
    pub rows_transformed: i64,
    /// Rows loaded so far.
    #[oai(validator(minimum(value = "0")))]
    pub rows_loaded: i64,
    /// Rows per second extracted.
    #[oai(validator(minimum(value = "0")))]
    pub extract_rows_per_s: f64,
    /// Rows per second out of the transform.
    #[oai(validator(minimum(value = "0")))]
    pub transform_rows_per_s: f64,
    /// Rows per second loaded.
    #[oai(validator(minimum(value = "0")))]
    pub load_rows_per_s: f64,
    /// Arrow bytes per second extracted.
    #[oai(validator(minimum(value = "0")))]
    pub extract_bytes_per_s: f64,
    /// Resident memory of the runner.
    #[oai(validator(minimum(value = "0")))]
    pub rss_bytes: i64,
    /// Batches waiting for a transform worker.
    #[oai(validator(minimum(value = "0")))]
    pub queue_to_transform: i64,
    /// Batches waiting for a target worker.
    #[oai(validator(minimum(value = "0")))]
    pub queue_to_target: i64,
    /// Mean wasm time per batch over the interval, in milliseconds.
    #[oai(validator(minimum(value = "0")))]
    pub wasm_ms_per_batch: f64,
}

/// A run's metric series.
#[derive(Object, Clone, Debug)]
pub struct MetricSeries {
    /// Samples, oldest first.
    pub items: Vec<MetricSample>,
    /// Samples stored in the range asked: more than `items` when they were downsampled
    /// (`points`) or cut at `limit`.
    pub total: u64,
}

/// A log line as a runner sends it.
#[derive(Object, Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct LogLine {
    /// The runner's number for the line, counting from 0: a line re-sent with the same number
    /// (a retried request) is stored once.
    #[oai(validator(minimum(value = "0")), skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// When it was logged.
    pub at: DateTime<Utc>,
    /// Its severity.
    pub level: LogLevel,
    /// `fastlane`, or `transform:<name>` for the transform's own lines.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub origin: String,
    /// The line.
    #[oai(validator(max_length = 65536))]
    pub message: String,
}

/// A stored log line.
#[derive(Object, Clone, Debug)]
pub struct LogEntry {
    /// Increasing id: pass the last one seen as `after_id` to page or follow.
    pub id: i64,
    /// The line.
    #[oai(flatten)]
    pub line: LogLine,
}

/// A run's log lines.
#[derive(Object, Clone, Debug)]
pub struct LogPage {
    /// Lines, oldest first.
    pub items: Vec<LogEntry>,
}

/// How many items a POST stored.
#[derive(Object, Clone, Debug)]
pub struct Accepted {
    /// Items stored.
    pub accepted: u64,
}

/// An event of a run's live stream.
#[derive(Union, Clone, Debug)]
#[oai(discriminator_name = "type")]
pub enum RunEvent {
    /// A new metric sample.
    #[oai(mapping = "sample")]
    Sample(MetricSample),
    /// The run's record (sent first, on every change, and last).
    #[oai(mapping = "run")]
    Run(Run),
    /// A new log line.
    #[oai(mapping = "log")]
    Log(LogEntry),
}

/// The service's health.
#[derive(Object, Clone, Debug)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// What needs the bearer token: nothing, writes, or everything but health, docs and the
    /// UI's own files (`--protect-reads`).
    pub auth: AuthScope,
}

/// What a service's token protects.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum AuthScope {
    /// No token: everything is open.
    None,
    /// Writes need the token; reads are open.
    Writes,
    /// Reads need the token too.
    All,
}

/// A run in a few fields, for lists and sparklines.
#[derive(Object, Clone, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct RunBrief {
    /// The run's id.
    pub id: String,
    /// How it stands.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// From start to end, once it ended.
    pub duration_ms: Option<i64>,
    /// Rows written to the target.
    pub rows_loaded: i64,
}

/// A pipeline with its last run and recent history: one row of the UI's pipeline list.
#[derive(Object, Clone, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct PipelineSummary {
    /// The pipeline's id.
    pub id: String,
    /// Source connector type.
    pub source_type: String,
    /// Target connector type.
    pub target_type: String,
    /// The target's own id.
    pub target_id: String,
    /// When it was last registered or changed.
    pub updated_at: DateTime<Utc>,
    /// Its most recent run.
    pub last_run: Option<Run>,
    /// Its most recent runs (up to `recent`), oldest first.
    pub recent: Vec<RunBrief>,
}

/// Pipelines by the status of their last run (`never`: no run yet).
#[derive(Object, Clone, Debug, Default)]
pub struct StatusCounts {
    /// Last run still running.
    pub running: u64,
    /// Last run completed.
    pub completed: u64,
    /// Last run failed.
    pub failed: u64,
    /// Last run stopped on request.
    pub exited: u64,
    /// No run yet.
    pub never: u64,
}

/// A page of pipeline summaries.
#[derive(Object, Clone, Debug)]
pub struct PipelineSummaryPage {
    /// This page.
    pub items: Vec<PipelineSummary>,
    /// Pipelines matching the filters in all.
    pub total: u64,
    /// Pipelines matching the name filter, by last run status (whatever the status filter).
    pub counts: StatusCounts,
}

/// A stage of a run, measured.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Stage {
    /// Reading the source.
    Extract,
    /// The Wasm transform.
    Transform,
    /// Writing the target.
    Load,
}

/// One stage's throughput over a run.
#[derive(Object, Clone, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct StageStats {
    /// Which stage.
    pub stage: Stage,
    /// Rows through it.
    pub rows: i64,
    /// Rows per second over the run's whole duration (once it ended).
    pub rows_per_s: Option<f64>,
    /// Mean of its sampled rates.
    pub mean_rows_per_s: Option<f64>,
    /// Highest sampled rate.
    pub peak_rows_per_s: Option<f64>,
}

/// A run with what its samples say about it.
#[derive(Object, Clone, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct RunStats {
    /// The run.
    pub run: Run,
    /// From start to end (to now while it runs).
    pub duration_ms: Option<i64>,
    /// Extract, transform and load.
    pub stages: Vec<StageStats>,
    /// Metric samples stored.
    pub samples: u64,
    /// Highest resident memory sampled.
    pub peak_rss_bytes: Option<i64>,
    /// Mean Wasm time per batch over the samples.
    pub mean_wasm_ms_per_batch: Option<f64>,
    /// Most batches that waited for a transform worker.
    pub peak_queue_to_transform: Option<i64>,
    /// Most batches that waited for a target worker.
    pub peak_queue_to_target: Option<i64>,
}

/// Two runs side by side.
#[derive(Object, Clone, Debug)]
pub struct RunComparison {
    /// `a`, then `b`.
    pub runs: Vec<RunStats>,
}

/// Milliseconds since the epoch as a UTC time (clamped to what chrono can show).
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
