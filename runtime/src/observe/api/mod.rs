//! Reports a run to the monitoring API (`fastlane serve`): the pipeline, the run, metric samples,
//! log lines and the final status, delivered in that order by one background task.
//!
//! The run never waits on it: events are turned into reports pushed into bounded buffers (a
//! full buffer drops the oldest sample or the newest log line, and counts it), and at the end
//! the run waits for the undelivered reports at most the drain timeout. Calls that may succeed
//! later (connection errors, timeouts, 5xx, 408, 429) are retried with the one backoff policy;
//! other 4xx drop the report.

mod courier;
mod outbox;
mod sampler;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{anyhow, bail};
use async_trait::async_trait;
use chrono::Utc;
use fastlane_connectors::{Offset, ReplicationMode};
use fastlane_wire::model;
pub use fastlane_wire::model::{
    LogLevel, LogLine, MetricSample, PipelineSpec, RunDetails, RunUpdate,
};
use fastlane_wire::redact::redact_text;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::courier::Courier;
use self::outbox::Shared;
use self::sampler::Sampler;
use crate::logging::tap::TappedEvent;
use crate::observe::outbox::drain;
use crate::run::{Observer, Outcome, RunEvent, RunInfo};

/// Shortest metrics sampling interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// Where and how to report (`--api`, `--api-token`, `--api-interval`).
#[derive(Clone)]
pub struct ApiSettings {
    /// Base URL of the API, e.g. `http://127.0.0.1:8787`.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` on every request.
    pub token: Option<String>,
    /// Time between two metric samples.
    pub interval: Duration,
}

impl ApiSettings {
    /// The base URL without trailing `/`, once checked: settings that can never work (a
    /// malformed URL or token) are refused before the run starts.
    pub fn checked_url(&self) -> anyhow::Result<String> {
        let url = self.url.trim().trim_end_matches('/').to_string();
        let parsed =
            reqwest::Url::parse(&url).map_err(|e| anyhow!("--api {url}: not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("--api {url}: only http and https URLs are supported");
        }
        if let Some(token) = &self.token {
            if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
                bail!("--api-token: a token is printable ASCII without spaces");
            }
        }
        Ok(url)
    }
}

/// A new run id for the API: a UUID v7 chosen here, so that a retried creation is idempotent
/// and the id sorts by time.
pub fn new_run_id() -> String {
    Uuid::now_v7().to_string()
}

/// The last update of a run that ended with `outcome`, stamped now.
pub fn final_update(outcome: &Outcome) -> RunUpdate {
    let p = &outcome.progress;
    RunUpdate {
        status: Some(outcome.status),
        finished_at: Some(Utc::now()),
        end_offset: outcome.end_offset.as_ref().map(offset_text),
        rows_extracted: Some(count(p.extracted.rows)),
        rows_transformed: Some(count(p.transformed.rows)),
        rows_loaded: Some(count(p.loaded.rows)),
        rows_dropped: Some(count(p.dropped())),
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
            transform_version: later
                .details
                .transform_version
                .or(earlier.details.transform_version),
        },
    }
}

impl From<&TappedEvent> for LogLine {
    fn from(event: &TappedEvent) -> Self {
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
            origin: clip(event.origin.clone(), model::MAX_NAME_CHARS),
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

/// Reports one run to the monitoring API from a background task; see the module doc.
pub struct ApiReporter {
    url: String,
    pipeline_id: String,
    shared: Arc<Shared>,
    courier: Option<JoinHandle<()>>,
    sampler: Mutex<Sampler>,
    interval: Duration,
    run_id: String,
    /// Set once the reports are delivered or given up.
    drained: watch::Sender<bool>,
}

/// What became of a reported run's reports, readable once the reporter is done with them.
pub struct ApiReport {
    /// The run's id in the API.
    pub run_id: String,
    shared: Arc<Shared>,
    drained: watch::Receiver<bool>,
}

impl ApiReport {
    /// What became of the reports, once the reporter delivered or gave up on them (or after
    /// `deadline` and a little more, or a Ctrl-C, whichever comes first).
    pub async fn settled(&self, deadline: Duration, give_up: CancellationToken) -> Delivery {
        let mut drained = self.drained.clone();
        tokio::select! {
            _ = drained.wait_for(|done| *done) => {}
            () = tokio::time::sleep(deadline + Duration::from_secs(1)) => {}
            () = give_up.cancelled() => {}
        }
        self.shared.delivery()
    }
}

impl ApiReporter {
    /// Start reporting `run` (whose id must be a UUID, as [`new_run_id`] makes): the pipeline
    /// is registered and the run created in the background (the API may be down: they are
    /// retried). Fails only on settings that can never work.
    pub fn start(settings: &ApiSettings, run: &RunInfo) -> anyhow::Result<Self> {
        let url = settings.checked_url()?;
        let run_id = Uuid::parse_str(&run.run_id)
            .map_err(|e| anyhow!("internal error: run id {} is not a UUID: {e}", run.run_id))?;
        let pipeline = PipelineSpec {
            source_type: run.source_type.clone(),
            target_type: run.target_type.clone(),
            target_id: clip(run.target_id.clone(), model::MAX_TARGET_ID_CHARS),
            config: match &run.config {
                serde_json::Value::Object(map) => map.clone().into_iter().collect(),
                _ => Default::default(),
            },
        };
        let shared = Arc::new(Shared::default());
        let courier = Courier::new(
            url.clone(),
            settings.token.clone(),
            Arc::clone(&shared),
            pipeline,
            &run.pipeline_id,
            run_id,
            run,
        )?;
        let courier = tokio::spawn(courier.run());
        let interval = settings.interval.max(MIN_INTERVAL);
        Ok(Self {
            url,
            pipeline_id: run.pipeline_id.clone(),
            shared,
            courier: Some(courier),
            sampler: Mutex::new(Sampler::new(interval)),
            interval,
            run_id: run.run_id.clone(),
            drained: watch::channel(false).0,
        })
    }

    /// A handle on what becomes of the reports.
    pub fn report(&self) -> ApiReport {
        ApiReport {
            run_id: self.run_id.clone(),
            shared: Arc::clone(&self.shared),
            drained: self.drained.subscribe(),
        }
    }

    /// The API's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What became of the reports so far.
    pub fn delivery(&self) -> Delivery {
        self.shared.delivery()
    }
}

#[async_trait]
impl Observer for ApiReporter {
    fn on_event(&self, event: &RunEvent) {
        match event {
            RunEvent::TransformReady(t) => self.shared.push_update(RunUpdate {
                details: RunDetails {
                    transform_name: Some(clip(t.name.clone(), model::MAX_NAME_CHARS)),
                    transform_hash: Some(t.digest.clone()),
                    transform_version: Some(clip(t.version.clone(), 100)),
                    ..RunDetails::default()
                },
                ..RunUpdate::default()
            }),
            RunEvent::Resuming(offset) => self.shared.push_update(RunUpdate {
                details: RunDetails {
                    start_offset: Some(offset_text(offset)),
                    ..RunDetails::default()
                },
                ..RunUpdate::default()
            }),
            RunEvent::Progress(progress) => {
                // Pushed under the sampler's lock: samples stay in time order.
                let mut sampler = lock(&self.sampler);
                if let Some(sample) = sampler.next(progress, false) {
                    self.shared.push_metric(sample);
                }
            }
            RunEvent::Log(line) => self.shared.push_log(LogLine::from(line)),
            RunEvent::Finished(outcome) => {
                // The final sample matches the final update.
                if let Some(sample) = lock(&self.sampler).next(&outcome.progress, true) {
                    self.shared.push_metric(sample);
                }
                self.shared.push_last(final_update(outcome));
            }
            RunEvent::Started(_) | RunEvent::Warning(_) | RunEvent::Checkpoint { .. } => {}
        }
    }

    fn sample_every(&self) -> Option<Duration> {
        Some(self.interval)
    }

    fn destination(&self) -> Option<String> {
        Some(format!(
            "the monitoring API at {} (pipeline {})",
            self.url, self.pipeline_id
        ))
    }

    async fn finish(
        mut self: Box<Self>,
        deadline: Duration,
        give_up: CancellationToken,
    ) -> Vec<String> {
        if let Some(mut courier) = self.courier.take() {
            drain(&mut courier, deadline, give_up).await;
        }
        self.drained.send_replace(true);
        let delivery = self.shared.delivery();
        if delivery.lost() == 0 {
            return Vec::new();
        }
        vec![format!(
            "{} reports could not be delivered to the API at {} (cause: {})",
            delivery.lost(),
            self.url,
            delivery
                .last_error
                .as_deref()
                .unwrap_or("the report buffers were full")
        )]
    }
}

impl Drop for ApiReporter {
    fn drop(&mut self) {
        if let Some(courier) = self.courier.take() {
            courier.abort();
        }
    }
}

/// A counter as the API stores it (a signed 64-bit integer).
pub(super) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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
