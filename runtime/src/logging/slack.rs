//! Slack: a failed run posts one notice to an incoming webhook — pipeline id, run id, status and
//! cause — at the end of the run. With `logs.slack_level` `warn` or `info`, the run's log lines
//! at that level and above are posted too, several per message every few seconds.
//!
//! Nothing here waits on Slack from the run's side: the tap pushes lines into a bounded buffer
//! and a background task posts them. A post answered with 5xx, 429 or not at all is retried
//! twice; then it is dropped, and the run's end warns about it on stderr. Text is redacted as
//! for the monitoring API, and the webhook URL (a secret) never appears in a message.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fastlane_connectors::retry::{self, Backoff, Verdict};
use fastlane_wire::model::RunStatus;
use fastlane_wire::redact::redact_text;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use super::tap::{truncate, TappedEvent};
use super::RunIdentity;
use crate::config::{check_webhook_url, LogsConfig, SlackLevel, SLACK_WEBHOOK_ENV};
use crate::observe::outbox::{self, Bounded, Outbox, Overflow};
use crate::run::{Observer, RunEvent};

/// Time limit of one post, from connecting to the end of the answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// A message Slack may take later is tried 3 times, 0.5 s then 1 s apart (jittered).
const RETRY: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(2)).attempts(3);
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
    outbox: Arc<Outbox<String>>,
    notice: Arc<Mutex<Notice>>,
    task: JoinHandle<()>,
    /// The lowest level of the lines posted (`None`: only a failed run's notice).
    lowest: Option<Level>,
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
        // Lines gather for FLUSH_INTERVAL: the task is woken only by the run's end.
        let outbox = Arc::new(Outbox::new(
            Bounded::new(QUEUE_LINES, Overflow::DropNewest),
            (usize::MAX, usize::MAX),
        ));
        let notice = Arc::new(Mutex::new(Notice::None));
        let poster = Poster {
            http,
            webhook: webhook.trim().to_string(),
            header: format!(
                "fastlane pipeline `{}` run `{}`:",
                escape(&run.pipeline_id),
                escape(&run.run_id)
            ),
            outbox: Arc::clone(&outbox),
            notice: Arc::clone(&notice),
            failing: false,
        };
        let task = tokio::spawn(poster.run());
        let lowest = match logs.slack_level {
            SlackLevel::Error => None,
            SlackLevel::Warn => Some(Level::WARN),
            SlackLevel::Info => Some(Level::INFO),
        };
        Ok(Self {
            run: run.clone(),
            outbox,
            notice,
            task,
            lowest,
        })
    }

    /// Take no more lines; queue the notice of a failed run (`cause`: its error). The task posts
    /// the notice first, then what is buffered, then ends.
    fn close(&self, failed: bool, cause: Option<&str>) {
        if failed {
            *lock(&self.notice) = Notice::Queued(failure_notice(&self.run, cause));
        }
        self.outbox.finish();
    }

    /// Stop the task; a warning for the notice and for the lines that never reached Slack.
    fn warnings(&self) -> Vec<String> {
        self.task.abort();
        let state = self.outbox.lock();
        let cause = state
            .tally
            .last_error
            .as_deref()
            .unwrap_or("the drain timeout ran out");
        let mut warnings = Vec::new();
        if matches!(
            *lock(&self.notice),
            Notice::Queued(_) | Notice::Posting | Notice::Failed
        ) {
            warnings.push(format!(
                "the failure notice could not be posted to Slack (cause: {cause})"
            ));
        }
        let lost = state.lost();
        if lost > 0 {
            warnings.push(format!(
                "{lost} of {} log lines could not be posted to Slack (cause: {})",
                lost + state.tally.delivered,
                if state.queue.dropped == lost {
                    "the buffer was full"
                } else {
                    cause
                }
            ));
        }
        warnings
    }
}

#[async_trait::async_trait]
impl Observer for SlackSink {
    fn on_event(&self, event: &RunEvent) {
        match event {
            // More verbose levels compare greater: WARN passes ERROR and WARN.
            RunEvent::Log(line) if self.lowest.is_some_and(|lowest| line.level <= lowest) => {
                self.outbox.push(slack_line(line));
            }
            RunEvent::Finished(outcome) => self.close(
                outcome.status == RunStatus::Failed,
                outcome.error.as_deref(),
            ),
            _ => {}
        }
    }

    fn destination(&self) -> Option<String> {
        Some(match self.lowest {
            None => "Slack (if the run fails)".to_string(),
            Some(level) => format!("Slack (lines at {level} and above; a notice if the run fails)"),
        })
    }

    async fn finish(
        mut self: Box<Self>,
        deadline: Duration,
        give_up: CancellationToken,
    ) -> Vec<String> {
        // A run that ended before it could tell (it never does) still closes the sink.
        self.outbox.finish();
        outbox::drain(&mut self.task, deadline, give_up).await;
        self.warnings()
    }
}

impl Drop for SlackSink {
    fn drop(&mut self) {
        self.task.abort();
    }
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lines of the next message from the front of `lines`: at most [`LINES_PER_MESSAGE`],
/// within [`MESSAGE_BYTES`] once under `header` (a line too long alone still goes, cut).
fn next_message(lines: &mut VecDeque<String>, header: &str) -> Vec<String> {
    let mut bytes = message_text(header, &[]).len();
    let mut count = 0;
    for line in lines.iter() {
        let full = count == LINES_PER_MESSAGE || bytes + line.len() + 1 > MESSAGE_BYTES;
        if count > 0 && full {
            break;
        }
        bytes += line.len() + 1;
        count += 1;
    }
    lines.drain(..count).collect()
}

/// A message of `lines` under `header`, in a code block.
fn message_text(header: &str, lines: &[String]) -> String {
    let mut text = format!("{header}\n```");
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    text.push_str("\n```");
    text
}

/// The background task.
struct Poster {
    http: reqwest::Client,
    webhook: String,
    /// First line of a message of log lines.
    header: String,
    outbox: Arc<Outbox<String>>,
    notice: Arc<Mutex<Notice>>,
    /// A failure was reported and no post has succeeded since.
    failing: bool,
}

impl Poster {
    async fn run(mut self) {
        loop {
            // Read before taking lines: once it is set, every line and the notice are queued.
            let mut finishing = self.outbox.is_finishing();
            if !finishing {
                self.outbox.wait(FLUSH_INTERVAL).await;
                finishing = self.outbox.is_finishing();
            }
            // The failure notice goes first: it is what matters most, and what a short drain
            // timeout or Slack's rate limit would otherwise cut off.
            if finishing {
                let queued = {
                    let mut notice = lock(&self.notice);
                    match std::mem::take(&mut *notice) {
                        Notice::Queued(text) => {
                            *notice = Notice::Posting;
                            Some(text)
                        }
                        other => {
                            *notice = other;
                            None
                        }
                    }
                };
                if let Some(text) = queued {
                    let posted = self.post(&text).await;
                    *lock(&self.notice) = if posted.is_ok() {
                        Notice::Posted
                    } else {
                        Notice::Failed
                    };
                    self.note(posted);
                }
            }
            loop {
                let lines = self
                    .outbox
                    .lock()
                    .take_call(|queue| next_message(queue, &self.header));
                if lines.is_empty() {
                    break;
                }
                let posted = self.post(&message_text(&self.header, &lines)).await;
                let refused = if posted.is_ok() {
                    0
                } else {
                    lines.len() as u64
                };
                self.outbox.lock().tally.settle(refused, None);
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
        retry::retry(
            &RETRY,
            |_| async {
                match self.http.post(&self.webhook).json(&body).send().await {
                    Ok(answer) if answer.status().is_success() => Ok(()),
                    Ok(answer) => {
                        let status = answer.status();
                        let verdict = if retry::retryable_status(status.as_u16()) {
                            Verdict::Retry
                        } else {
                            Verdict::GiveUp
                        };
                        Err((format!("Slack answered {status}"), verdict))
                    }
                    // Without the URL: the webhook's path is its secret.
                    Err(e) => Err((
                        format!(
                            "Slack unreachable: {}",
                            fastlane_connectors::error::chain(&e.without_url())
                        ),
                        Verdict::Retry,
                    )),
                }
            },
            |(_, verdict)| *verdict,
            |_, _, _| {},
        )
        .await
        .map_err(|(error, _)| error)
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
                self.outbox.lock().tally.last_error = Some(e.clone());
                // This module's lines are not forwarded by the tap: no loop back into Slack.
                if !self.failing {
                    self.failing = true;
                    tracing::warn!("cannot post to Slack ({e}): the run goes on");
                }
            }
        }
    }
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
        let mut lines: VecDeque<String> = (0..100)
            .map(|i| format!("INFO fastlane line {i}"))
            .collect();
        let taken = next_message(&mut lines, "head");
        let text = message_text("head", &taken);
        assert_eq!(taken.len(), LINES_PER_MESSAGE);
        assert!(
            text.starts_with("head\n```\nINFO fastlane line 0\n"),
            "{text}"
        );
        assert!(text.ends_with("line 39\n```"), "{text}");

        let mut lines: VecDeque<String> = (0..20).map(|_| "x".repeat(LINE_BYTES)).collect();
        let taken = next_message(&mut lines, "head");
        let text = message_text("head", &taken);
        assert!(text.len() <= MESSAGE_BYTES, "{}", text.len());
        assert_eq!(taken.len(), 6);
        assert_eq!(lines.len(), 14);
    }

    #[test]
    fn webhooks_are_http_urls() {
        assert!(check_webhook_url("https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(check_webhook_url("hooks.slack.com/services/T/B/X").is_err());
        let err = check_webhook_url("ftp://hooks.slack.com/services/T/B/X").unwrap_err();
        assert!(!err.contains("hooks.slack.com"), "{err}");
    }
}
