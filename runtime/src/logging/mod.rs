//! Tracing setup: human-readable lines on stderr, JSON lines in the optional log file, and the
//! tap that forwards info and above to the sinks of a run — the monitoring API when the run is
//! reported, and the [`LogSinks`] the `logs` section switches on: [`cloudwatch`] and [`slack`].

pub mod cloudwatch;
pub mod slack;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Install the process's log subscriber. `RUST_LOG` overrides `default_level` on stderr; the
/// file (when given) receives info and above as JSON lines, and so does the log tap (forwarded only
/// to the sinks attached to it: the [`RunReporter`](crate::monitor::reporter::RunReporter) and
/// the [`LogSinks`]).
pub fn init(default_level: &str, log_file: Option<&Path>) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter);
    let file = match log_file {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("logs.log_file: cannot create {}: {e}", dir.display())
                })?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    anyhow::anyhow!("logs.log_file: cannot open {}: {e}", path.display())
                })?;
            Some(
                fmt::layer()
                    .json()
                    .with_writer(std::sync::Mutex::new(file))
                    .with_filter(EnvFilter::new("info")),
            )
        }
        None => None,
    };
    // A second init (tests running several commands in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .with(crate::monitor::log_tap::LogTap.with_filter(LevelFilter::INFO))
        .try_init();
    Ok(())
}

/// Which run the log lines belong to, as the sinks name it.
#[derive(Clone, Debug)]
pub struct RunIdentity {
    /// The pipeline's id (`{source}-{target}-{target_id}`, as the monitoring API knows it).
    pub pipeline_id: String,
    /// The run's id (the API's when the run is reported).
    pub run_id: String,
    /// When the run started.
    pub started_at: DateTime<Utc>,
}

/// Where the run log goes besides stderr and the log file: CloudWatch Logs and Slack, as the
/// `logs` section (or `--logs-to-cloudwatch`, `--logs-to-slack`) asks. Each sink takes lines
/// from the log tap into a bounded buffer and ships them from its own task: the run never waits
/// on them, and their failures never change its outcome.
#[derive(Default)]
pub struct LogSinks {
    cloudwatch: Option<cloudwatch::CloudWatchSink>,
    slack: Option<slack::SlackSink>,
}

impl LogSinks {
    /// Start the sinks `logs` switches on. One that cannot start is a warning.
    pub fn start(logs: &crate::config::LogsConfig, run: &RunIdentity) -> Self {
        let cloudwatch = logs.log_to_cloudwatch.then(|| {
            let sink = cloudwatch::CloudWatchSink::start(logs, run);
            tracing::info!(run = %run.run_id, "sending the run log to {}", sink.destination());
            sink
        });
        let slack = if logs.error_log_to_slack {
            match slack::SlackSink::start(logs, run) {
                Ok(sink) => {
                    tracing::info!(run = %run.run_id, level = ?logs.slack_level, "posting to Slack if the run fails");
                    Some(sink)
                }
                Err(e) => {
                    eprintln!("warning: nothing is posted to Slack: {e}");
                    None
                }
            }
        } else {
            None
        };
        Self { cloudwatch, slack }
    }

    /// The run is over (`failed`, with `cause`): post a failed run's notice to Slack, ship what
    /// is buffered for at most `drain_timeout` (less if `give_up`, a Ctrl-C, comes first), and
    /// return a warning for everything that was not delivered.
    pub async fn finish(
        mut self,
        failed: bool,
        cause: Option<&str>,
        drain_timeout: Duration,
        give_up: impl Future<Output = ()>,
    ) -> Vec<String> {
        if let Some(sink) = &mut self.cloudwatch {
            sink.close();
        }
        if let Some(sink) = &mut self.slack {
            sink.close(failed, cause);
        }
        let (cloudwatch, slack) = (self.cloudwatch.as_mut(), self.slack.as_mut());
        let drained = async move {
            tokio::join!(
                async move {
                    if let Some(sink) = cloudwatch {
                        sink.drained().await;
                    }
                },
                async move {
                    if let Some(sink) = slack {
                        sink.drained().await;
                    }
                },
            )
        };
        tokio::select! {
            _ = tokio::time::timeout(drain_timeout, drained) => {}
            () = give_up => {}
        }
        let mut warnings = Vec::new();
        if let Some(sink) = &self.cloudwatch {
            warnings.extend(sink.warnings());
        }
        if let Some(sink) = &self.slack {
            warnings.extend(sink.warnings());
        }
        warnings
    }
}
