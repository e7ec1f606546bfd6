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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, RejectedLogEventsInfo};
use aws_sdk_cloudwatchlogs::Client;
use fastlane_connectors::aws::{describe, Connection};
use fastlane_connectors::ConnectorError;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::RunIdentity;
use crate::config::LogsConfig;
use crate::monitor::log_tap::{self, Attachment};

pub use self::batch::{
    check_log_group_name, log_group_name, log_stream_name, take_batch, LogEvent,
    EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES,
    MAX_EVENT_MESSAGE_BYTES,
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
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    tap: Option<Attachment>,
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
        let shared = Arc::new(Shared::default());
        let shipper = Shipper {
            group: group.clone(),
            stream: stream.clone(),
            region: logs.cloudwatch_region.clone(),
            endpoint_url: logs.cloudwatch_endpoint_url.clone(),
            shared: Arc::clone(&shared),
            ready: false,
            outage: false,
        };
        let task = tokio::spawn(shipper.run());
        let tap = {
            let shared = Arc::clone(&shared);
            log_tap::attach(move |event| shared.push(LogEvent::from_tapped(&event)))
        };
        Self {
            group,
            stream,
            shared,
            task,
            tap: Some(tap),
        }
    }

    /// Where the lines go, for messages.
    pub fn destination(&self) -> String {
        format!(
            "CloudWatch Logs (group {}, stream {})",
            self.group, self.stream
        )
    }

    /// Take no more lines; the task sends what is buffered, then ends.
    pub fn close(&mut self) {
        self.tap = None;
        self.shared.finishing.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// Wait until the task has sent everything (or given it up).
    pub async fn drained(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// Stop the task; a warning when some lines never reached CloudWatch.
    pub fn warnings(&self) -> Vec<String> {
        self.task.abort();
        let state = self.shared.lock();
        let lost = state.dropped + state.failed + state.in_flight + state.queue.len() as u64;
        if lost == 0 {
            return Vec::new();
        }
        vec![format!(
            "{lost} of {} log lines could not be delivered to {} (cause: {})",
            lost + state.delivered,
            self.destination(),
            state
                .last_error
                .as_deref()
                .unwrap_or("the log buffer was full or the drain timeout ran out")
        )]
    }
}

impl Drop for CloudWatchSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the tap and the task share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// A call's worth is waiting, or the run is finishing.
    wake: Notify,
    /// The run is over: send what is left and end.
    finishing: AtomicBool,
}

#[derive(Default)]
struct State {
    queue: VecDeque<LogEvent>,
    /// Bytes of the queued events, counted as CloudWatch does.
    queued_bytes: usize,
    /// Events of the call under way.
    in_flight: u64,
    delivered: u64,
    /// Events refused by a full buffer.
    dropped: u64,
    /// Events of calls given up, or refused by CloudWatch.
    failed: u64,
    /// No client could be set up: nothing will be sent.
    closed: bool,
    last_error: Option<String>,
}

impl Shared {
    // Nothing may log while holding the lock: the tap pushes under it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue an event (from the thread that logged: never waits on the network).
    fn push(&self, event: LogEvent) {
        let call_ready = {
            let mut state = self.lock();
            if state.closed {
                state.failed += 1;
                return;
            }
            let size = event.size();
            if state.queue.len() >= QUEUE_EVENTS || state.queued_bytes + size > QUEUE_BYTES {
                state.dropped += 1;
                return;
            }
            state.queued_bytes += size;
            state.queue.push_back(event);
            state.full_call_waiting()
        };
        if call_ready {
            self.wake.notify_one();
        }
    }

    /// No client: count everything queued (and everything to come) as lost.
    fn close(&self, error: String) {
        let mut state = self.lock();
        state.closed = true;
        state.failed += state.queue.len() as u64;
        state.queue.clear();
        state.queued_bytes = 0;
        state.last_error = Some(error);
    }
}

impl State {
    fn full_call_waiting(&self) -> bool {
        self.queue.len() >= MAX_BATCH_EVENTS || self.queued_bytes >= MAX_BATCH_BYTES
    }

    fn take_batch(&mut self) -> Vec<LogEvent> {
        let batch = take_batch(&mut self.queue);
        let bytes: usize = batch.iter().map(LogEvent::size).sum();
        self.queued_bytes = self.queued_bytes.saturating_sub(bytes);
        self.in_flight = batch.len() as u64;
        batch
    }
}

/// The background task.
struct Shipper {
    group: String,
    stream: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    shared: Arc<Shared>,
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
                self.shared.close(e);
                return;
            }
        };
        let mut last_call = Instant::now();
        loop {
            // Read before taking a batch: once it is set, the tap is detached and every event
            // is in the queue.
            let finishing = self.shared.finishing.load(Ordering::Acquire);
            let call_waiting = self.shared.lock().full_call_waiting();
            if !finishing && !call_waiting {
                tokio::select! {
                    () = tokio::time::sleep_until(last_call + FLUSH_INTERVAL) => {}
                    () = self.shared.wake.notified() => continue,
                }
            }
            last_call = Instant::now();
            let batch = self.shared.lock().take_batch();
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
            let mut state = self.shared.lock();
            state.in_flight = 0;
            match result {
                Ok(refused) => {
                    state.delivered += sent - refused;
                    state.failed += refused;
                    if refused > 0 {
                        state.last_error = Some(format!(
                            "CloudWatch refused {refused} events as too old or too new"
                        ));
                    }
                    None
                }
                Err(e) => {
                    state.failed += sent;
                    state.last_error = Some(e.clone());
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
