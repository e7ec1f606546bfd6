//! Tracing setup: human-readable lines on stderr, JSON lines in the optional log file, and the
//! tap that forwards info and above to the monitoring API when a run is reported.

use std::path::Path;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Install the process's log subscriber. `RUST_LOG` overrides `default_level` on stderr; the
/// file (when given) receives info and above as JSON lines, and so does the log tap (forwarded only
/// once a [`RunReporter`](crate::monitor::reporter::RunReporter) attaches to it).
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
