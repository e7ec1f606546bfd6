//! Tracing setup: human-readable lines on stderr, JSON lines in the optional log file, and the
//! [`tap`] through which a run hears its own log lines — for the observers the `logs` section
//! switches on: [`cloudwatch`] and [`slack`].

#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
pub mod slack;
pub mod tap;

use std::path::Path;

use chrono::{DateTime, Utc};
use fastlane_wire::redact::redact_text;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Install the process's log subscriber. `RUST_LOG` overrides `default_level` on stderr; the
/// file (when given) receives info and above as JSON lines, and so does the log [`tap`]
/// (forwarded only while a run listens to it).
pub fn init(default_level: &str, log_file: Option<&Path>) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let stderr = fmt::layer()
        .with_writer(Redacting(std::io::stderr))
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
                    .with_writer(Redacting(std::sync::Mutex::new(file)))
                    .with_filter(EnvFilter::new("info")),
            )
        }
        None => None,
    };
    // A second init (tests running several commands in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .with(tap::LogTap.with_filter(LevelFilter::INFO))
        .try_init();
    Ok(())
}

/// A log destination whose lines have their secrets redacted before they are written (the
/// formatter writes each event with one call).
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

struct RedactingWriter<W>(W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact_text(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
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

impl RunIdentity {
    /// The identity of the run `info` describes.
    pub fn of(info: &crate::run::RunInfo) -> Self {
        Self {
            pipeline_id: info.pipeline_id.clone(),
            run_id: info.run_id.clone(),
            started_at: info.started_at,
        }
    }
}

/// Let the run log go where the `logs` section (or `--logs-to-cloudwatch`, `--logs-to-slack`)
/// asks besides stderr and the log file: CloudWatch Logs and Slack. Each takes lines into a
/// bounded buffer and ships them from its own task: the run never waits on them, and their
/// failures never change its outcome. One that cannot start is a warning.
pub fn observe(run: &mut crate::run::Run, logs: &crate::config::LogsConfig) {
    let identity = RunIdentity::of(run.info());
    if logs.log_to_cloudwatch {
        #[cfg(feature = "cloudwatch")]
        run.observe(cloudwatch::CloudWatchSink::start(logs, &identity));
        #[cfg(not(feature = "cloudwatch"))]
        eprintln!(
            "warning: nothing is sent to CloudWatch Logs: this fastlane was built without it \
             (the demo's build); `cargo build --release --bin fastlane` builds it in"
        );
    }
    if logs.error_log_to_slack {
        match slack::SlackSink::start(logs, &identity) {
            Ok(sink) => run.observe(sink),
            Err(e) => eprintln!(
                "warning: nothing is posted to Slack: {}",
                redact_text(&e.to_string())
            ),
        }
    }
}
