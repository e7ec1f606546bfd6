//! Metric samples: cumulative rows per stage, per-second rates since the previous sample,
//! gauges — from two of the run's [`Progress`] readings.

use std::time::Duration;

use super::{count, MetricSample};
use crate::metrics::Progress;

/// The sample for the time between the readings `before` and `now`.
pub(super) fn sample_between(before: &Progress, now: &Progress) -> MetricSample {
    let secs = now.elapsed.saturating_sub(before.elapsed).as_secs_f64();
    let per_s = |after: u64, before: u64| {
        if secs > 0.0 {
            after.saturating_sub(before) as f64 / secs
        } else {
            0.0
        }
    };
    let batches = now
        .transformed
        .batches
        .saturating_sub(before.transformed.batches);
    let wasm_ms_per_batch = if batches > 0 {
        now.wasm_nanos.saturating_sub(before.wasm_nanos) as f64 / 1e6 / batches as f64
    } else {
        0.0
    };
    MetricSample {
        at: now.at,
        rows_extracted: count(now.extracted.rows),
        rows_transformed: count(now.transformed.rows),
        rows_loaded: count(now.loaded.rows),
        extract_rows_per_s: per_s(now.extracted.rows, before.extracted.rows),
        transform_rows_per_s: per_s(now.transformed.rows, before.transformed.rows),
        load_rows_per_s: per_s(now.loaded.rows, before.loaded.rows),
        extract_bytes_per_s: per_s(now.extracted.bytes, before.extracted.bytes),
        rss_bytes: count(now.rss_bytes),
        queue_to_transform: count(now.queue_to_transform),
        queue_to_target: count(now.queue_to_target),
        wasm_ms_per_batch,
    }
}

/// Turns the run's readings into one sample per interval, each over the time since the
/// previous one.
pub(super) struct Sampler {
    interval: Duration,
    /// The reading the next sample's rates start from (`None`: none yet).
    last: Option<Progress>,
}

impl Sampler {
    pub(super) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
        }
    }

    /// The sample due at reading `now`, if an interval has passed since the last one (the
    /// first reading only sets the start: data starts moving). `last` forces a sample of a
    /// run whose data moved: its final counts.
    pub(super) fn next(&mut self, now: &Progress, last: bool) -> Option<MetricSample> {
        let Some(before) = &self.last else {
            if !last {
                self.last = Some(now.clone());
            }
            return None;
        };
        // Readings come on the run's own clock: a tenth of the interval early still counts.
        let due = now.elapsed.saturating_sub(before.elapsed) >= self.interval.mul_f64(0.9);
        if !due && !last {
            return None;
        }
        let sample = sample_between(before, now);
        self.last = Some(now.clone());
        Some(sample)
    }
}
