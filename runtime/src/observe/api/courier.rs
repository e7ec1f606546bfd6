//! The background task that delivers a run's reports in order — pipeline, run, samples and
//! log lines, final update — retrying what may succeed later with exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use fastlane_connectors::retry::Backoff;
use fastlane_wire::model::{NewRun, RunDetails, RunStatus};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::outbox::{Item, Shared};
use super::{api_mode, PipelineSpec};
use crate::run::RunInfo;

/// Time limit of every HTTP call, from connecting to the end of the response.
/// A call that timed out may still have been stored: the API stores a re-sent sample or
/// numbered log line once.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the task lets new items gather, so that log lines go in batches.
const LINGER: Duration = Duration::from_millis(100);
/// Pauses between retries: 100 ms doubling up to 5 s, jittered, for as long as the run lasts.
pub(super) const BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// How an API call went.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply {
    /// Accepted (2xx).
    Done,
    /// May succeed later: keep the item and retry.
    Retry(String),
    /// 404: for a run-scoped call, the run is not (or no longer) known.
    Missing(String),
    /// Can never succeed: drop the item.
    Refused(String),
}

/// What a response status means for the item sent.
pub(super) fn classify(status: StatusCode, cause: String) -> Reply {
    if status.is_success() {
        Reply::Done
    } else if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Reply::Retry(cause)
    } else if status == StatusCode::NOT_FOUND {
        Reply::Missing(cause)
    } else {
        Reply::Refused(cause)
    }
}

/// The background task delivering the outbox, in order.
pub(super) struct Courier {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    shared: Arc<Shared>,
    pipeline_path: String,
    pipeline: PipelineSpec,
    run_body: NewRun,
    run_path: String,
    /// Failed calls in a row (the backoff's attempt number).
    failures: u32,
    /// An outage was reported and the API has not answered since.
    outage: bool,
}

impl Courier {
    /// The task for one run: `pipeline` is registered, then the run `run_id` is created, then
    /// the outbox in `shared` is delivered until its final update.
    pub(super) fn new(
        base: String,
        token: Option<String>,
        shared: Arc<Shared>,
        pipeline: PipelineSpec,
        pipeline_id: &str,
        run_id: Uuid,
        run: &RunInfo,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("fastlane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the HTTP client: {e}"))?;
        Ok(Self {
            http,
            base,
            token,
            shared,
            pipeline_path: format!("/api/v1/pipelines/{pipeline_id}"),
            pipeline,
            run_body: NewRun {
                id: Some(run_id.to_string()),
                status: Some(RunStatus::Running),
                started_at: Some(run.started_at),
                details: RunDetails {
                    replication_mode: Some(api_mode(run.replication_mode)),
                    ..RunDetails::default()
                },
            },
            run_path: format!("/api/v1/runs/{run_id}"),
            failures: 0,
            outage: false,
        })
    }

    /// Deliver until the final update is delivered or refused (or the registration refused).
    pub(super) async fn run(mut self) {
        let (mut pipeline_ok, mut run_ok) = (false, false);
        // 404s in a row creating the run, and whether the held item already caused a new
        // registration: each bounds a loop against an API that keeps forgetting.
        let (mut run_missing, mut held_missing) = (0u32, false);
        let mut held: Option<Item> = None;
        loop {
            if !pipeline_ok {
                match self
                    .call(Method::PUT, &self.pipeline_path, &self.pipeline)
                    .await
                {
                    Reply::Done => {
                        pipeline_ok = true;
                        self.shared.lock().pipeline_registered = true;
                        self.recovered();
                    }
                    Reply::Retry(e) => self.wait_retry(e).await,
                    Reply::Missing(e) | Reply::Refused(e) => {
                        return self.give_up("the pipeline", e)
                    }
                }
                continue;
            }
            if !run_ok {
                let runs = format!("{}/runs", self.pipeline_path);
                match self.call(Method::POST, &runs, &self.run_body).await {
                    Reply::Done => {
                        (run_ok, run_missing) = (true, 0);
                        self.shared.lock().run_created = true;
                        self.recovered();
                    }
                    Reply::Retry(e) => self.wait_retry(e).await,
                    Reply::Missing(e) => {
                        run_missing += 1;
                        if run_missing > 1 {
                            return self.give_up("the run", e);
                        }
                        pipeline_ok = false;
                    }
                    Reply::Refused(e) => return self.give_up("the run", e),
                }
                continue;
            }
            let item = match held.take() {
                Some(item) => item,
                None => {
                    held_missing = false;
                    let next = self.shared.lock().next_item();
                    match next {
                        Some(item) => item,
                        None => {
                            self.shared.wake.notified().await;
                            tokio::time::sleep(LINGER).await;
                            continue;
                        }
                    }
                }
            };
            let last = matches!(item, Item::Last(_));
            match self.send(&item).await {
                Reply::Done => {
                    self.shared.lock().settle(true);
                    self.recovered();
                    if last {
                        return;
                    }
                }
                Reply::Retry(e) => {
                    held = Some(item);
                    self.wait_retry(e).await;
                }
                Reply::Missing(e) if !held_missing => {
                    // The API does not know the run (restarted on an empty database?): create
                    // it again, then retry this item.
                    self.shared.note_error(&e);
                    (held_missing, run_ok) = (true, false);
                    held = Some(item);
                }
                Reply::Missing(e) | Reply::Refused(e) => {
                    self.shared.note_error(&e);
                    self.shared.lock().settle(false);
                    tracing::warn!(
                        "monitoring API {}: {} report(s) refused: {e}",
                        self.base,
                        item.count()
                    );
                    if last {
                        return;
                    }
                }
            }
        }
    }

    async fn send(&self, item: &Item) -> Reply {
        match item {
            Item::Update(update) | Item::Last(update) => {
                self.call(Method::PATCH, &self.run_path, &**update).await
            }
            Item::Metrics(samples) => {
                let path = format!("{}/metrics", self.run_path);
                self.call(Method::POST, &path, samples).await
            }
            Item::Logs(lines) => {
                let path = format!("{}/logs", self.run_path);
                self.call(Method::POST, &path, lines).await
            }
        }
    }

    async fn call<B: Serialize + ?Sized>(&self, method: Method, path: &str, body: &B) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), url.as_str()).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_builder() => return Reply::Refused(format!("{method} {path}: {e}")),
            Err(e) if e.is_timeout() => {
                return Reply::Retry(format!(
                    "{method} {path}: no answer within {CALL_TIMEOUT:?}"
                ))
            }
            Err(e) => {
                return Reply::Retry(format!(
                    "{method} {path}: {}",
                    fastlane_connectors::error::chain(&e)
                ))
            }
        };
        let status = response.status();
        if status.is_success() {
            return Reply::Done;
        }
        let detail = response
            .text()
            .await
            .map(|t| error_detail(&t))
            .unwrap_or_default();
        classify(status, format!("{method} {path}: {status}{detail}"))
    }

    /// Keep `error` and sleep the next backoff delay (cut short when the run finishes).
    async fn wait_retry(&mut self, error: String) {
        if !self.outage {
            self.outage = true;
            tracing::warn!("monitoring API {} unavailable ({error}): the run goes on, reports are kept and retried", self.base);
        }
        self.shared.note_error(&error);
        self.failures = self.failures.saturating_add(1);
        let delay = BACKOFF.delay(self.failures);
        let shared = Arc::clone(&self.shared);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shared.finishing.notified() => self.failures = 0,
        }
    }

    fn recovered(&mut self) {
        self.failures = 0;
        if self.outage {
            self.outage = false;
            tracing::info!(
                "monitoring API {} reachable again: delivering the kept reports",
                self.base
            );
        }
    }

    /// The registration can never succeed: count everything as undelivered and stop.
    fn give_up(&self, what: &str, error: String) {
        tracing::warn!(
            "monitoring API {} refused {what} ({error}): the run is not reported",
            self.base
        );
        let mut outbox = self.shared.lock();
        outbox.closed = true;
        let queued = outbox.metrics.clear()
            + outbox.logs.clear()
            + u64::from(outbox.update.take().is_some())
            + u64::from(outbox.last.take().is_some());
        outbox.refused += queued;
        outbox.last_error = Some(error);
    }
}

/// `: <message>` from an API error body (`{"error", "message"}`), or its start if not JSON.
pub(super) fn error_detail(body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| body.trim().chars().take(200).collect());
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}
