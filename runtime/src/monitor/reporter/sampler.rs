//! Metric samples: cumulative rows per stage, per-second rates over the last interval, gauges.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{count, MetricSample};
use crate::monitor::{memory_usage, RunMetrics};

/// The counters a sample is computed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counters {
    pub(super) extracted_rows: u64,
    pub(super) extracted_bytes: u64,
    pub(super) transformed_rows: u64,
    pub(super) transformed_batches: u64,
    pub(super) loaded_rows: u64,
    pub(super) wasm_nanos: u64,
}

impl Counters {
    fn read(m: &RunMetrics) -> Self {
        Self {
            extracted_rows: m.extracted.rows(),
            extracted_bytes: m.extracted.bytes(),
            transformed_rows: m.transformed.rows(),
            transformed_batches: m.transformed.batches(),
            loaded_rows: m.loaded.rows(),
            wasm_nanos: m.wasm_nanos.load(Relaxed),
        }
    }
}

/// Gauges read at the moment of a sample.
pub(super) struct Gauges {
    pub(super) at: DateTime<Utc>,
    pub(super) rss_bytes: u64,
    pub(super) queue_to_transform: u64,
    pub(super) queue_to_target: u64,
}

/// The sample for the `elapsed` between the counters `before` and `now`.
pub(super) fn sample_between(
    before: &Counters,
    now: &Counters,
    elapsed: Duration,
    gauges: Gauges,
) -> MetricSample {
    let secs = elapsed.as_secs_f64();
    let per_s = |after: u64, before: u64| {
        if secs > 0.0 {
            after.saturating_sub(before) as f64 / secs
        } else {
            0.0
        }
    };
    let batches = now
        .transformed_batches
        .saturating_sub(before.transformed_batches);
    let wasm_ms_per_batch = if batches > 0 {
        now.wasm_nanos.saturating_sub(before.wasm_nanos) as f64 / 1e6 / batches as f64
    } else {
        0.0
    };
    MetricSample {
        at: gauges.at,
        rows_extracted: count(now.extracted_rows),
        rows_transformed: count(now.transformed_rows),
        rows_loaded: count(now.loaded_rows),
        extract_rows_per_s: per_s(now.extracted_rows, before.extracted_rows),
        transform_rows_per_s: per_s(now.transformed_rows, before.transformed_rows),
        load_rows_per_s: per_s(now.loaded_rows, before.loaded_rows),
        extract_bytes_per_s: per_s(now.extracted_bytes, before.extracted_bytes),
        rss_bytes: count(gauges.rss_bytes),
        queue_to_transform: count(gauges.queue_to_transform),
        queue_to_target: count(gauges.queue_to_target),
        wasm_ms_per_batch,
    }
}

/// Turns a run's counters into samples, each over the time since the previous one.
pub(super) struct Sampler {
    metrics: Arc<RunMetrics>,
    last: Counters,
    last_at: Instant,
}

impl Sampler {
    pub(super) fn new(metrics: Arc<RunMetrics>) -> Self {
        Self {
            last: Counters::read(&metrics),
            last_at: Instant::now(),
            metrics,
        }
    }

    /// The sample for the time since the previous one.
    pub(super) fn next(&mut self) -> MetricSample {
        let now = Counters::read(&self.metrics);
        let elapsed = self.last_at.elapsed();
        self.last_at = Instant::now();
        let gauges = Gauges {
            at: Utc::now(),
            rss_bytes: memory_usage().0,
            queue_to_transform: self.metrics.queues.to_transform.load(Relaxed),
            queue_to_target: self.metrics.queues.to_target.load(Relaxed),
        };
        let sample = sample_between(&self.last, &now, elapsed, gauges);
        self.last = now;
        sample
    }
}
