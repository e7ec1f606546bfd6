//! Reports a run to the monitoring API (`fastlane serve`): the pipeline, the run, metric samples,
//! log lines and the final status, delivered in that order by one background task.
//!
//! The pipeline never waits on it: producers push into bounded buffers (a full buffer drops the
//! oldest sample or the newest log line, and counts it), and at the end the run waits for the
//! undelivered reports at most `drain_timeout`. Calls that may succeed later (connection errors,
//! timeouts, 5xx, 408, 429) are retried with exponential backoff; other 4xx drop the report.

mod courier;
mod outbox;
mod sampler;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{anyhow, bail};
use chrono::{DateTime, Utc};
use fastlane_api::model;
pub use fastlane_api::model::{
    LogLevel, LogLine, MetricSample, PipelineSpec, RunDetails, RunUpdate,
};
use fastlane_api::redact::redact_text;
use fastlane_connectors::{Offset, ReplicationMode};
use tokio::task::JoinHandle;
use uuid::Uuid;

use self::courier::Courier;
use self::outbox::Shared;
use self::sampler::Sampler;
use super::log_tap::{self, Attachment, TappedEvent};
use super::RunMetrics;
use crate::pipeline::{RunOutcome, RunStatus};

/// Shortest metrics sampling interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// Where and how to report (`--api`, `--api-token`, `--api-interval`, `--api-drain-timeout`).
#[derive(Clone)]
pub struct ApiSettings {
    /// Base URL of the API, e.g. `http://127.0.0.1:8787`.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` on every request.
    pub token: Option<String>,
    /// Time between two metric samples.
    pub interval: Duration,
    /// How long [`RunReporter::finish`] waits for reports not yet delivered.
    pub drain_timeout: Duration,
}

/// What is known of a run when it starts.
#[derive(Clone, Debug)]
pub struct RunStart {
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// The run's replication mode.
    pub replication_mode: ReplicationMode,
}

/// The last update of a run that ended with `outcome`, stamped now.
pub fn final_update(outcome: &RunOutcome) -> RunUpdate {
    let m = &outcome.metrics;
    RunUpdate {
        status: Some(api_status(outcome.status)),
        finished_at: Some(Utc::now()),
        end_offset: outcome.end_offset.as_ref().map(offset_text),
        rows_extracted: Some(count(m.extracted.rows())),
        rows_transformed: Some(count(m.transformed.rows())),
        rows_loaded: Some(count(m.loaded.rows())),
        rows_dropped: Some(count(m.dropped())),
        error: outcome
            .error
            .as_deref()
            .map(|e| clip(redact_text(e), model::MAX_TEXT_CHARS)),
        ..RunUpdate::default()
    }
}

/// An offset as the API stores it: the key's value as text (no quotes around a text key),
/// clipped to the API's limit.
pub fn offset_text(offset: &Offset) -> String {
    let text = match offset {
        Offset::Int(v) => v.to_string(),
        Offset::UInt(v) => v.to_string(),
        Offset::Text(v) => v.clone(),
    };
    clip(text, model::MAX_OFFSET_CHARS)
}

/// At most `max` characters of `text` (the API refuses longer values, and a refused final
/// update would leave the run `running`).
pub fn clip(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
    }
    text
}

/// `earlier`, with every field `later` sets taken from `later`.
pub fn merge(earlier: RunUpdate, later: RunUpdate) -> RunUpdate {
    RunUpdate {
        status: later.status.or(earlier.status),
        finished_at: later.finished_at.or(earlier.finished_at),
        end_offset: later.end_offset.or(earlier.end_offset),
        rows_extracted: later.rows_extracted.or(earlier.rows_extracted),
        rows_transformed: later.rows_transformed.or(earlier.rows_transformed),
        rows_loaded: later.rows_loaded.or(earlier.rows_loaded),
        rows_dropped: later.rows_dropped.or(earlier.rows_dropped),
        error: later.error.or(earlier.error),
        details: RunDetails {
            replication_mode: later
                .details
                .replication_mode
                .or(earlier.details.replication_mode),
            start_offset: later.details.start_offset.or(earlier.details.start_offset),
            transform_name: later
                .details
                .transform_name
                .or(earlier.details.transform_name),
            transform_hash: later
                .details
                .transform_hash
                .or(earlier.details.transform_hash),
        },
    }
}

impl From<TappedEvent> for LogLine {
    fn from(event: TappedEvent) -> Self {
        let level = match event.level {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        };
        Self {
            seq: None,
            at: event.at,
            level,
            origin: clip(event.origin, model::MAX_NAME_CHARS),
            message: clip(redact_text(&event.message), model::MAX_TEXT_CHARS),
        }
    }
}

/// What became of a run's reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Reports the API accepted.
    pub delivered: u64,
    /// Reports still waiting when the drain timeout ran out, or refused by the API.
    pub undelivered: u64,
    /// Reports dropped because a buffer was full (the API was too slow or down).
    pub dropped: u64,
    /// The last error met while delivering.
    pub last_error: Option<String>,
}

impl Delivery {
    /// Reports that never reached the API.
    pub fn lost(&self) -> u64 {
        self.undelivered + self.dropped
    }
}

/// The id of a pipeline in the API: `{source}-{target}-{target_id}` with every character outside
/// `[A-Za-z0-9._-]` replaced by `_`, at most 200 characters.
pub fn pipeline_id(source_type: &str, target_type: &str, target_id: &str) -> String {
    format!("{source_type}-{target_type}-{target_id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect()
}

/// Reports one run to the monitoring API from a background task; see the module doc.
pub struct RunReporter {
    run_id: Uuid,
    pipeline_id: String,
    url: String,
    interval: Duration,
    drain_timeout: Duration,
    shared: Arc<Shared>,
    courier: Option<JoinHandle<()>>,
    sampler: Arc<Mutex<Option<Sampler>>>,
    sampling: Mutex<Option<JoinHandle<()>>>,
    tap: Option<Attachment>,
}

impl RunReporter {
    /// Start reporting: the pipeline is registered and the run created in the background (the
    /// API may be down: they are retried), and the run's log events are forwarded from now on.
    /// Fails only on settings that can never work (a malformed URL or token).
    pub fn start(
        settings: ApiSettings,
        pipeline: PipelineSpec,
        run: RunStart,
    ) -> anyhow::Result<Self> {
        let url = settings.url.trim().trim_end_matches('/').to_string();
        let parsed =
            reqwest::Url::parse(&url).map_err(|e| anyhow!("--api {url}: not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("--api {url}: only http and https URLs are supported");
        }
        if let Some(token) = &settings.token {
            if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
                bail!("--api-token: a token is printable ASCII without spaces");
            }
        }
        let run_id = Uuid::now_v7();
        let pipeline_id = pipeline_id(
            &pipeline.source_type,
            &pipeline.target_type,
            &pipeline.target_id,
        );
        let shared = Arc::new(Shared::default());
        let courier = Courier::new(
            url.clone(),
            settings.token,
            Arc::clone(&shared),
            pipeline,
            run_id,
            &run,
        )?;
        let courier = tokio::spawn(courier.run());
        let tap = {
            let shared = Arc::clone(&shared);
            log_tap::attach(move |event| shared.push_log(LogLine::from(event)))
        };
        Ok(Self {
            run_id,
            pipeline_id,
            url,
            interval: settings.interval.max(MIN_INTERVAL),
            drain_timeout: settings.drain_timeout,
            shared,
            courier: Some(courier),
            sampler: Arc::new(Mutex::new(None)),
            sampling: Mutex::new(None),
            tap: Some(tap),
        })
    }

    /// The run's id in the API (a UUID v7 chosen here, so a retried creation is idempotent).
    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// The pipeline's id in the API.
    pub fn pipeline_id(&self) -> &str {
        &self.pipeline_id
    }

    /// The API's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sample `metrics` every interval from now on (call it when the pipeline starts).
    pub fn start_sampling(&self, metrics: Arc<RunMetrics>) {
        *lock(&self.sampler) = Some(Sampler::new(metrics));
        let (sampler, shared, interval) = (
            Arc::clone(&self.sampler),
            Arc::clone(&self.shared),
            self.interval,
        );
        let task = tokio::spawn(async move {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let mut guard = lock(&sampler);
                match guard.as_mut() {
                    // Pushed under the sampler's lock: samples stay in time order.
                    Some(s) => shared.push_metric(s.next()),
                    None => return,
                }
            }
        });
        if let Some(previous) = lock(&self.sampling).replace(task) {
            previous.abort();
        }
    }

    /// Send fields of the run known during the run (transform, start offset).
    pub fn update(&self, update: RunUpdate) {
        self.shared.push_update(update);
    }

    /// Send the run's last update (with its final status), then wait at most the drain timeout
    /// for every report to be delivered.
    pub async fn finish(self, last: RunUpdate) -> Delivery {
        self.finish_or(last, std::future::pending()).await
    }

    /// [`finish`](Self::finish), but stop waiting as soon as `give_up` completes (a Ctrl-C).
    pub async fn finish_or(
        mut self,
        last: RunUpdate,
        give_up: impl Future<Output = ()>,
    ) -> Delivery {
        self.tap = None;
        if let Some(task) = lock(&self.sampling).take() {
            task.abort();
        }
        if let Some(mut sampler) = lock(&self.sampler).take() {
            self.shared.push_metric(sampler.next());
        }
        self.shared.push_last(last);
        if let Some(mut courier) = self.courier.take() {
            let drained = tokio::select! {
                joined = tokio::time::timeout(self.drain_timeout, &mut courier) => joined.is_ok(),
                () = give_up => false,
            };
            if !drained {
                courier.abort();
            }
        }
        self.shared.delivery()
    }
}

impl Drop for RunReporter {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.sampling).take() {
            task.abort();
        }
        if let Some(courier) = self.courier.take() {
            courier.abort();
        }
    }
}

/// A counter as the API stores it (a signed 64-bit integer).
pub(super) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How the API spells a run's status.
fn api_status(status: RunStatus) -> model::RunStatus {
    match status {
        RunStatus::Completed => model::RunStatus::Completed,
        RunStatus::Failed => model::RunStatus::Failed,
        RunStatus::Exited => model::RunStatus::Exited,
    }
}

/// How the API spells a replication mode.
pub(super) fn api_mode(mode: ReplicationMode) -> model::ReplicationMode {
    match mode {
        ReplicationMode::FullTable => model::ReplicationMode::FullTable,
        ReplicationMode::Incremental => model::ReplicationMode::Incremental,
    }
}

/// A mutex's content, even if a thread panicked holding it (the data stays consistent here).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
