//! The progress line shown on a terminal while a run goes.

use std::io::IsTerminal;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{memory_usage, rate, RunMetrics};

/// A spinner line on stderr with rows/s per stage and queue depths; silent off a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Start refreshing from `metrics` (only when stderr is a terminal).
    pub fn start(metrics: Arc<RunMetrics>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                bar: None,
                task: None,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut last = (0u64, 0u64, 0u64);
            let mut last_at = std::time::Instant::now();
            loop {
                tick.tick().await;
                let m = &metrics;
                let now = (m.extracted.rows(), m.transformed.rows(), m.loaded.rows());
                let dt = last_at.elapsed();
                last_at = std::time::Instant::now();
                let (rss, _) = memory_usage();
                shown.set_message(format!(
                    "extract {} ({}/s) | transform {} ({}/s) | load {} ({}/s) | queues {}/{} | rss {} MiB",
                    now.0,
                    human(rate(now.0 - last.0, dt)),
                    now.1,
                    human(rate(now.1 - last.1, dt)),
                    now.2,
                    human(rate(now.2 - last.2, dt)),
                    m.queues.to_transform.load(Relaxed),
                    m.queues.to_target.load(Relaxed),
                    rss / (1024 * 1024),
                ));
                shown.tick();
                last = now;
            }
        });
        Self {
            bar: Some(bar),
            task: Some(task),
        }
    }

    /// Stop and erase the line.
    pub fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// 1234567.0 → "1.23M".
pub fn human(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}
