//! The run log in CloudWatch Logs: one log group per pipeline, one log stream per run.
//!
//! Each line is one event whose message is `LEVEL origin message` — `INFO fastlane run started
//! …`, `ERROR transform:mask bad row` — with secrets redacted as for the monitoring API. Plain
//! text rather than JSON: it reads as is in the console and in `aws logs tail`.
//!
//! The log tap pushes events into a bounded buffer (a full buffer refuses the newest and counts
//! it); a background task sends them with `PutLogEvents` every second, or as soon as a call's
//! worth is waiting, after creating the group and the stream if they are missing. The SDK
//! retries throttling, 5xx and connection errors a few times with backoff; a batch that still
//! fails is dropped and counted. Nothing here ever waits on CloudWatch from the run's side.

mod batch;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, RejectedLogEventsInfo};
use aws_sdk_cloudwatchlogs::Client;
use fastlane_connectors::aws::{describe, Connection};
use fastlane_connectors::ConnectorError;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::RunIdentity;
use crate::config::LogsConfig;
use crate::observe::outbox::{self, Bounded, Outbox, Overflow};
use crate::run::{Observer, RunEvent};

pub use self::batch::{
    log_group_name, log_stream_name, take_batch, LogEvent, EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS, MAX_EVENT_BYTES, MAX_EVENT_MESSAGE_BYTES,
};

/// How long events gather before a call (unless a call's worth is already waiting).
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Events kept while CloudWatch cannot take them; the newest are refused beyond.
const QUEUE_EVENTS: usize = 20_000;
/// Bytes (counted as CloudWatch does) kept while CloudWatch cannot take them.
const QUEUE_BYTES: usize = 8 * MAX_BATCH_BYTES;
/// Attempts per call (the first included) for throttling, 5xx and connection errors.
const ATTEMPTS: u32 = 3;

/// Sends the run log to CloudWatch Logs from a background task; see the module doc.
pub struct CloudWatchSink {
    group: String,
    stream: String,
    outbox: Arc<Outbox<LogEvent>>,
    task: JoinHandle<()>,
}

impl CloudWatchSink {
    /// Start shipping the run's log events: the group is `logs.cloudwatch_log_group` or the
    /// pipeline id, the stream the run's start time and id. The client is set up in the
    /// background (the region and credentials may take a moment to resolve).
    pub fn start(logs: &LogsConfig, run: &RunIdentity) -> Self {
        let group = logs
            .cloudwatch_log_group
            .clone()
            .unwrap_or_else(|| log_group_name(&run.pipeline_id));
        let stream = log_stream_name(run.started_at, &run.run_id);
        let queue = Bounded::new(QUEUE_EVENTS, Overflow::DropNewest)
            .with_bytes(QUEUE_BYTES, LogEvent::size);
        let outbox = Arc::new(Outbox::new(queue, (MAX_BATCH_EVENTS, MAX_BATCH_BYTES)));
        let shipper = Shipper {
            group: group.clone(),
            stream: stream.clone(),
            region: logs.cloudwatch_region.clone(),
            endpoint_url: logs.cloudwatch_endpoint_url.clone(),
            outbox: Arc::clone(&outbox),
            ready: false,
            outage: false,
        };
        let task = tokio::spawn(shipper.run());
        Self {
            group,
            stream,
            outbox,
            task,
        }
    }

    /// Where the lines go, for messages.
    fn place(&self) -> String {
        format!(
            "CloudWatch Logs (group {}, stream {})",
            self.group, self.stream
        )
    }

    /// Stop the task; a warning when some lines never reached CloudWatch.
    fn warnings(&self) -> Vec<String> {
        self.task.abort();
        let state = self.outbox.lock();
        let lost = state.lost();
        if lost == 0 {
            return Vec::new();
        }
        vec![format!(
            "{lost} of {} log lines could not be delivered to {} (cause: {})",
            lost + state.tally.delivered,
            self.place(),
            state
                .tally
                .last_error
                .as_deref()
                .unwrap_or("the log buffer was full or the drain timeout ran out")
        )]
    }
}

#[async_trait::async_trait]
impl Observer for CloudWatchSink {
    fn on_event(&self, event: &RunEvent) {
        match event {
            RunEvent::Log(line) => self.outbox.push(LogEvent::from_tapped(line)),
            RunEvent::Finished(_) => self.outbox.finish(),
            _ => {}
        }
    }

    fn destination(&self) -> Option<String> {
        Some(self.place())
    }

    async fn finish(
        mut self: Box<Self>,
        deadline: Duration,
        give_up: CancellationToken,
    ) -> Vec<String> {
        self.outbox.finish();
        outbox::drain(&mut self.task, deadline, give_up).await;
        self.warnings()
    }
}

impl Drop for CloudWatchSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The background task.
struct Shipper {
    group: String,
    stream: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    outbox: Arc<Outbox<LogEvent>>,
    /// The group and the stream exist.
    ready: bool,
    /// An outage was reported and no call has succeeded since.
    outage: bool,
}

impl Shipper {
    async fn run(mut self) {
        let client = match self.client().await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!("the run log is not sent to CloudWatch Logs: {e}");
                self.outbox.close(e);
                return;
            }
        };
        let mut last_call = Instant::now();
        loop {
            // Read before taking a batch: once it is set, the tap is detached and every event
            // is in the queue.
            let finishing = self.outbox.is_finishing();
            if !finishing && !self.outbox.call_waiting() {
                tokio::select! {
                    () = tokio::time::sleep_until(last_call + FLUSH_INTERVAL) => {}
                    () = self.outbox.woken() => continue,
                }
            }
            last_call = Instant::now();
            let batch = self.outbox.lock().take_call(take_batch);
            if batch.is_empty() {
                if finishing {
                    return;
                }
                continue;
            }
            let result = self.put(&client, &batch).await;
            self.settle(batch.len() as u64, result);
        }
    }

    /// A client for `logs.cloudwatch_region` and `logs.cloudwatch_endpoint_url` (else the
    /// standard environment), with short timeouts and few retries: the run's end waits for it
    /// at most the drain timeout anyway.
    async fn client(&self) -> Result<Client, String> {
        let sdk = Connection {
            service: "CLOUDWATCH_LOGS",
            section: "logs",
            region: self.region.as_deref(),
            endpoint_url: self.endpoint_url.as_deref(),
            profile: None,
            keys: None,
        }
        .sdk_config()
        .await
        .map_err(|e| match e {
            // The shared loader names `logs.region`; this section's keys are `cloudwatch_*`.
            ConnectorError::Config { path, message } => format!(
                "logs.cloudwatch_{}: {message}",
                path.trim_start_matches("logs.")
            ),
            other => other.to_string(),
        })?;
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(&sdk)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(2)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .build(),
            )
            .build();
        Ok(Client::from_conf(config))
    }

    /// Send one batch; how many of its events CloudWatch refused.
    async fn put(&mut self, client: &Client, batch: &[LogEvent]) -> Result<u64, String> {
        let mut recreated = false;
        loop {
            if !self.ready {
                self.create_destination(client).await?;
                self.ready = true;
            }
            let events = batch
                .iter()
                .map(|e| {
                    InputLogEvent::builder()
                        .timestamp(e.at_ms)
                        .message(e.message.clone())
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("internal error: a log event: {e}"))?;
            let sent = client
                .put_log_events()
                .log_group_name(&self.group)
                .log_stream_name(&self.stream)
                .set_log_events(Some(events))
                .send()
                .await;
            match sent {
                Ok(out) => return Ok(rejected(out.rejected_log_events_info(), batch.len())),
                // The group or stream was deleted during the run: create it again, once.
                Err(e)
                    if !recreated
                        && e.as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    (recreated, self.ready) = (true, false);
                }
                Err(e) => {
                    return Err(format!(
                        "PutLogEvents to {}/{}: {}",
                        self.group,
                        self.stream,
                        describe(&e)
                    ))
                }
            }
        }
    }

    /// Create the group and the stream; existing ones are fine. A refused group creation
    /// (a role allowed to write to an existing group only) still tries the stream.
    async fn create_destination(&self, client: &Client) -> Result<(), String> {
        let group_error = match client
            .create_log_group()
            .log_group_name(&self.group)
            .send()
            .await
        {
            Ok(_) => None,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) =>
            {
                None
            }
            Err(e) => {
                let error = format!("creating log group {}: {}", self.group, describe(&e));
                // Not an answer from the service (unreachable, no credentials): the stream
                // would fail the same way.
                if e.as_service_error().is_none() {
                    return Err(error);
                }
                Some(error)
            }
        };
        match client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(group_error.unwrap_or_else(|| {
                format!(
                    "creating log stream {}/{}: {}",
                    self.group,
                    self.stream,
                    describe(&e)
                )
            })),
        }
    }

    /// Count the outcome of a call of `sent` events; say once when CloudWatch becomes
    /// unavailable and when it is back.
    fn settle(&mut self, sent: u64, result: Result<u64, String>) {
        let error = {
            let mut state = self.outbox.lock();
            match result {
                Ok(refused) => {
                    let cause = (refused > 0).then(|| {
                        format!("CloudWatch refused {refused} events as too old or too new")
                    });
                    state.tally.settle(refused, cause);
                    None
                }
                Err(e) => {
                    state.tally.settle(sent, Some(e.clone()));
                    Some(e)
                }
            }
        };
        // Logged outside the lock; this module's lines are not forwarded by the tap.
        match error {
            Some(e) if !self.outage => {
                self.outage = true;
                tracing::warn!(
                    "CloudWatch Logs unavailable ({e}): the run goes on, {sent} log lines dropped"
                );
            }
            None if self.outage => {
                self.outage = false;
                tracing::info!("CloudWatch Logs reachable again");
            }
            _ => {}
        }
    }
}

/// How many of a call's `n` events CloudWatch refused (too old, past retention, too new).
fn rejected(info: Option<&RejectedLogEventsInfo>, n: usize) -> u64 {
    let Some(info) = info else {
        return 0;
    };
    let index = |i: Option<i32>| i.and_then(|i| usize::try_from(i).ok());
    let old = index(info.too_old_log_event_end_index())
        .max(index(info.expired_log_event_end_index()))
        .map_or(0, |end| (end + 1).min(n));
    let new =
        index(info.too_new_log_event_start_index()).map_or(0, |start| n.saturating_sub(start));
    (old + new).min(n) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_events_are_counted_from_their_indexes() {
        let info = RejectedLogEventsInfo::builder()
            .too_old_log_event_end_index(1)
            .too_new_log_event_start_index(8)
            .build();
        assert_eq!(rejected(Some(&info), 10), 4);
        assert_eq!(rejected(None, 10), 0);
    }
}
