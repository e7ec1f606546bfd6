//! The progress line shown on a terminal while a run goes: rows and rows/s per stage, queue
//! depths and memory, from the run's [`RunEvent::Progress`] readings.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::{rate, Progress};
use crate::run::{Observer, RunEvent};

/// How often the line is refreshed.
const REFRESH: Duration = Duration::from_millis(250);

/// A spinner line on stderr; only on a terminal ([`ProgressLine::on_terminal`]).
pub struct ProgressLine {
    bar: ProgressBar,
    last: Mutex<Option<Progress>>,
}

impl ProgressLine {
    /// The line, when stderr is a terminal.
    pub fn on_terminal() -> Option<Self> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Some(Self {
            bar,
            last: Mutex::new(None),
        })
    }
}

impl Observer for ProgressLine {
    fn on_event(&self, event: &RunEvent) {
        match event {
            RunEvent::Progress(now) => {
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                let before = last.take().unwrap_or_default();
                self.bar.set_message(line(&before, now));
                self.bar.tick();
                *last = Some(now.clone());
            }
            RunEvent::Finished(_) => self.bar.finish_and_clear(),
            _ => {}
        }
    }

    fn sample_every(&self) -> Option<Duration> {
        Some(REFRESH)
    }
}

/// `extract 1200 (4.0k/s) | transform … | load … | queues 1/0 | rss 42 MiB`, rates since
/// `before`.
fn line(before: &Progress, now: &Progress) -> String {
    let dt = now.elapsed.saturating_sub(before.elapsed);
    let per_s = |now: u64, before: u64| human(rate(now.saturating_sub(before), dt));
    format!(
        "extract {} ({}/s) | transform {} ({}/s) | load {} ({}/s) | queues {}/{} | rss {} MiB",
        now.extracted.rows,
        per_s(now.extracted.rows, before.extracted.rows),
        now.transformed.rows,
        per_s(now.transformed.rows, before.transformed.rows),
        now.loaded.rows,
        per_s(now.loaded.rows, before.loaded.rows),
        now.queue_to_transform,
        now.queue_to_target,
        now.rss_bytes / (1024 * 1024),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::StageCount;

    #[test]
    fn the_line_gives_rows_and_rates_per_stage() {
        let at = |ms: u64, rows: u64| Progress {
            elapsed: Duration::from_millis(ms),
            extracted: StageCount {
                rows,
                ..StageCount::default()
            },
            transformed: StageCount {
                rows: rows / 2,
                ..StageCount::default()
            },
            queue_to_transform: 3,
            rss_bytes: 42 << 20,
            ..Progress::default()
        };
        assert_eq!(
            line(&at(1_000, 1_000), &at(1_500, 3_000)),
            "extract 3000 (4.0k/s) | transform 1500 (2.0k/s) | load 0 (0/s) | queues 3/0 | rss 42 MiB"
        );
        assert_eq!(human(1_234_567.0), "1.23M");
        assert_eq!(human(999.0), "999");
    }
}
