//! Slack: a failed run posts one notice to an incoming webhook — pipeline id, run id, status and
//! cause — at the end of the run. With `logs.slack_level` `warn` or `info`, the run's log lines
//! at that level and above are posted too, several per message every few seconds.
//!
//! Nothing here waits on Slack from the run's side: the tap pushes lines into a bounded buffer
//! and a background task posts them. A post answered with 5xx, 429 or not at all is retried
//! twice; then it is dropped, and the run's end warns about it on stderr. Text is redacted as
//! for the monitoring API, and the webhook URL (a secret) never appears in a message.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fastlane_api::redact::redact_text;
use reqwest::StatusCode;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::Level;

use super::RunIdentity;
use crate::config::{LogsConfig, SlackLevel, SLACK_WEBHOOK_ENV};
use crate::monitor::log_tap::{self, truncate, Attachment, TappedEvent};

/// Time limit of one post, from connecting to the end of the answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per message (the first included) when Slack may answer later.
const ATTEMPTS: u32 = 3;
/// Delay before the first retry; it doubles.
const RETRY_START: Duration = Duration::from_millis(500);
/// How long lines gather before they are posted.
const FLUSH_INTERVAL: Duration = Duration::from_secs(3);
/// Lines kept while Slack cannot take them; the newest are refused beyond.
const QUEUE_LINES: usize = 1_000;
/// Most lines in one message.
const LINES_PER_MESSAGE: usize = 40;
/// Most bytes of one message (Slack shows about 4,000 characters before folding a message).
const MESSAGE_BYTES: usize = 3_500;
/// Longest line, in bytes.
const LINE_BYTES: usize = 500;
/// Longest cause in a failure notice, in bytes.
const CAUSE_BYTES: usize = 2_000;

/// Whether `url` can be a webhook; what is wrong otherwise (without repeating the URL: it is a
/// secret).
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url.trim()).map_err(|e| format!("the webhook is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("the webhook must be an https:// (or http://) URL".into());
    }
    Ok(())
}

/// The notice of a failed run: pipeline, run, status and cause.
pub fn failure_notice(run: &RunIdentity, cause: Option<&str>) -> String {
    let cause = cause
        .map(|c| escape(&truncate(redact_text(c), CAUSE_BYTES)))
        .unwrap_or_else(|| "unknown".to_string());
    format!(
        ":x: fastlane run failed\npipeline: `{}`\nrun: `{}`\nstatus: failed\ncause: {cause}",
        escape(&run.pipeline_id),
        escape(&run.run_id)
    )
}

/// A log line as posted: `LEVEL origin message`, redacted, cut to [`LINE_BYTES`].
fn slack_line(event: &TappedEvent) -> String {
    let line = format!(
        "{} {} {}",
        event.level,
        event.origin,
        redact_text(&event.message)
    );
    escape(&truncate(line, LINE_BYTES))
}

/// Slack's three control characters, escaped as its docs ask.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Posts to a Slack webhook from a background task; see the module doc.
pub struct SlackSink {
    run: RunIdentity,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    tap: Option<Attachment>,
}

impl SlackSink {
    /// Start: the webhook is `logs.slack_webhook_url` or `SLACK_WEBHOOK_URL`. Lines are taken
    /// from the log tap only at `slack_level` `warn` or `info`.
    pub fn start(logs: &LogsConfig, run: &RunIdentity) -> Result<Self, String> {
        let webhook = logs.slack_webhook().ok_or_else(|| {
            format!("no webhook: set logs.slack_webhook_url or {SLACK_WEBHOOK_ENV}")
        })?;
        check_webhook_url(&webhook).map_err(|e| format!("logs.slack_webhook_url: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("fastlane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        let shared = Arc::new(Shared::default());
        let poster = Poster {
            http,
            webhook: webhook.trim().to_string(),
            header: format!(
                "fastlane pipeline `{}` run `{}`:",
                escape(&run.pipeline_id),
                escape(&run.run_id)
            ),
            shared: Arc::clone(&shared),
            failing: false,
        };
        let task = tokio::spawn(poster.run());
        let lowest = match logs.slack_level {
            SlackLevel::Error => None,
            SlackLevel::Warn => Some(Level::WARN),
            SlackLevel::Info => Some(Level::INFO),
        };
        let tap = lowest.map(|lowest| {
            let shared = Arc::clone(&shared);
            // More verbose levels compare greater: WARN passes ERROR and WARN.
            log_tap::attach(move |event| {
                if event.level <= lowest {
                    shared.push_line(slack_line(&event));
                }
            })
        });
        Ok(Self {
            run: run.clone(),
            shared,
            task,
            tap,
        })
    }

    /// Take no more lines; queue the notice of a failed run (`cause`: its error). The task posts
    /// the notice first, then what is buffered, then ends.
    pub fn close(&mut self, failed: bool, cause: Option<&str>) {
        self.tap = None;
        if failed {
            self.shared.lock().notice = Notice::Queued(failure_notice(&self.run, cause));
        }
        self.shared.finishing.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// Wait until the task has posted everything (or given it up).
    pub async fn drained(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// Stop the task; a warning for the notice and for the lines that never reached Slack.
    pub fn warnings(&self) -> Vec<String> {
        self.task.abort();
        let state = self.shared.lock();
        let cause = state
            .last_error
            .as_deref()
            .unwrap_or("the drain timeout ran out");
        let mut warnings = Vec::new();
        if matches!(
            state.notice,
            Notice::Queued(_) | Notice::Posting | Notice::Failed
        ) {
            warnings.push(format!(
                "the failure notice could not be posted to Slack (cause: {cause})"
            ));
        }
        let lost = state.dropped + state.failed + state.in_flight + state.lines.len() as u64;
        if lost > 0 {
            warnings.push(format!(
                "{lost} of {} log lines could not be posted to Slack (cause: {})",
                lost + state.delivered,
                if state.dropped == lost {
                    "the buffer was full"
                } else {
                    cause
                }
            ));
        }
        warnings
    }
}

impl Drop for SlackSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the tap, the run and the task share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The run is finishing.
    wake: Notify,
    /// The run is over: post the notice, then what is left, and end.
    finishing: AtomicBool,
}

#[derive(Default)]
struct State {
    lines: VecDeque<String>,
    /// Lines of the message being posted.
    in_flight: u64,
    delivered: u64,
    /// Lines refused by a full buffer.
    dropped: u64,
    /// Lines of messages given up.
    failed: u64,
    notice: Notice,
    last_error: Option<String>,
}

/// Where the failure notice is.
#[derive(Debug, Default)]
enum Notice {
    /// The run has not failed (or has not ended).
    #[default]
    None,
    /// Waiting to be posted.
    Queued(String),
    /// Being posted.
    Posting,
    /// Slack took it.
    Posted,
    /// Given up.
    Failed,
}

impl Shared {
    // Nothing may log while holding the lock: the tap pushes under it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push_line(&self, line: String) {
        let mut state = self.lock();
        if state.lines.len() >= QUEUE_LINES {
            state.dropped += 1;
        } else {
            state.lines.push_back(line);
        }
    }
}

impl State {
    /// The next message of queued lines under `header`, and how many lines it holds.
    fn next_message(&mut self, header: &str) -> Option<(u64, String)> {
        if self.lines.is_empty() {
            return None;
        }
        let mut text = format!("{header}\n```");
        let mut count = 0;
        while let Some(line) = self.lines.front() {
            let full = count == LINES_PER_MESSAGE || text.len() + line.len() + 5 > MESSAGE_BYTES;
            if count > 0 && full {
                break;
            }
            text.push('\n');
            text.push_str(line);
            self.lines.pop_front();
            count += 1;
        }
        text.push_str("\n```");
        let count = count as u64;
        self.in_flight = count;
        Some((count, text))
    }
}

/// The background task.
struct Poster {
    http: reqwest::Client,
    webhook: String,
    /// First line of a message of log lines.
    header: String,
    shared: Arc<Shared>,
    /// A failure was reported and no post has succeeded since.
    failing: bool,
}

impl Poster {
    async fn run(mut self) {
        loop {
            // Read before taking lines: once it is set, the tap is detached and every line and
            // the notice are queued.
            let mut finishing = self.shared.finishing.load(Ordering::Acquire);
            if !finishing {
                tokio::select! {
                    () = tokio::time::sleep(FLUSH_INTERVAL) => {}
                    () = self.shared.wake.notified() => {}
                }
                finishing = self.shared.finishing.load(Ordering::Acquire);
            }
            // The failure notice goes first: it is what matters most, and what a short drain
            // timeout or Slack's rate limit would otherwise cut off.
            if finishing {
                let notice = {
                    let mut state = self.shared.lock();
                    match std::mem::take(&mut state.notice) {
                        Notice::Queued(text) => {
                            state.notice = Notice::Posting;
                            Some(text)
                        }
                        other => {
                            state.notice = other;
                            None
                        }
                    }
                };
                if let Some(text) = notice {
                    let posted = self.post(&text).await;
                    self.shared.lock().notice = if posted.is_ok() {
                        Notice::Posted
                    } else {
                        Notice::Failed
                    };
                    self.note(posted);
                }
            }
            loop {
                let next = self.shared.lock().next_message(&self.header);
                let Some((count, text)) = next else { break };
                let posted = self.post(&text).await;
                {
                    let mut state = self.shared.lock();
                    state.in_flight = 0;
                    match &posted {
                        Ok(()) => state.delivered += count,
                        Err(_) => state.failed += count,
                    }
                }
                self.note(posted);
            }
            if finishing {
                return;
            }
        }
    }

    /// Post `text`, retrying what may succeed later.
    async fn post(&self, text: &str) -> Result<(), String> {
        let body = serde_json::json!({ "text": text });
        let mut delay = RETRY_START;
        let mut attempt = 1;
        loop {
            let (error, may_retry) = match self.http.post(&self.webhook).json(&body).send().await {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                Ok(answer) => {
                    let status = answer.status();
                    let retry = status.is_server_error()
                        || status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::REQUEST_TIMEOUT;
                    (format!("Slack answered {status}"), retry)
                }
                // Without the URL: the webhook's path is its secret.
                Err(e) => (
                    format!("Slack unreachable: {}", error_chain(&e.without_url())),
                    true,
                ),
            };
            if !may_retry || attempt >= ATTEMPTS {
                return Err(error);
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
        }
    }

    /// Keep the last error; say once when Slack starts failing and when it works again.
    fn note(&mut self, posted: Result<(), String>) {
        match posted {
            Ok(()) if self.failing => {
                self.failing = false;
                tracing::info!("Slack webhook answering again");
            }
            Ok(()) => {}
            Err(e) => {
                self.shared.lock().last_error = Some(e.clone());
                // This module's lines are not forwarded by the tap: no loop back into Slack.
                if !self.failing {
                    self.failing = true;
                    tracing::warn!("cannot post to Slack ({e}): the run goes on");
                }
            }
        }
    }
}

/// An error and its causes, `: `-separated.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunIdentity {
        RunIdentity {
            pipeline_id: "file-file-out.parquet".into(),
            run_id: "0193-abc".into(),
            started_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_failure_notice_names_the_pipeline_the_run_and_the_cause_redacted() {
        let text = failure_notice(
            &run(),
            Some("source mysql: cannot connect to mysql://etl:hunter2@db/shop <timeout>"),
        );
        assert!(text.contains("pipeline: `file-file-out.parquet`"), "{text}");
        assert!(text.contains("run: `0193-abc`"), "{text}");
        assert!(text.contains("status: failed"), "{text}");
        assert!(text.contains("cannot connect"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("&lt;timeout&gt;"), "{text}");
        assert!(failure_notice(&run(), None).ends_with("cause: unknown"));
    }

    #[test]
    fn lines_go_several_to_a_message_within_its_size() {
        let mut state = State {
            lines: (0..100)
                .map(|i| format!("INFO fastlane line {i}"))
                .collect(),
            ..State::default()
        };
        let (count, text) = state.next_message("head").unwrap();
        assert_eq!(count, LINES_PER_MESSAGE as u64);
        assert!(
            text.starts_with("head\n```\nINFO fastlane line 0\n"),
            "{text}"
        );
        assert!(text.ends_with("line 39\n```"), "{text}");

        let mut state = State {
            lines: (0..20).map(|_| "x".repeat(LINE_BYTES)).collect(),
            ..State::default()
        };
        let (count, text) = state.next_message("head").unwrap();
        assert!(text.len() <= MESSAGE_BYTES, "{}", text.len());
        assert_eq!(count, 6);
        assert_eq!(state.lines.len(), 14);
    }

    #[test]
    fn webhooks_are_http_urls() {
        assert!(check_webhook_url("https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(check_webhook_url("hooks.slack.com/services/T/B/X").is_err());
        let err = check_webhook_url("ftp://hooks.slack.com/services/T/B/X").unwrap_err();
        assert!(!err.contains("hooks.slack.com"), "{err}");
    }
}
