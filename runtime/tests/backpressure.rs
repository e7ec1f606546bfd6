//! A slow target holds memory flat: the source never gets more than the window ahead of the
//! target, whatever the size of the source. (Its own test binary, so the RSS it watches is its own.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use fastlane::connectors::{self, registry, SourceContext, Target, Writer};
use fastlane::metrics::{memory_usage, RunMetrics};
use fastlane::pipeline::{Pipeline, Shutdown};

struct SlowTarget {
    rows: Arc<AtomicU64>,
    metrics: Arc<RunMetrics>,
    ahead: Arc<AtomicU64>,
}

/// Loads slowly, and records how far the source ever got ahead of it (batches extracted but not
/// yet loaded), from the run's extract counter: independent of the pipeline's own window.
struct SlowWriter {
    rows: Arc<AtomicU64>,
    loaded: u64,
    metrics: Arc<RunMetrics>,
    ahead: Arc<AtomicU64>,
}

#[async_trait]
impl Writer for SlowWriter {
    async fn load(&mut self, batch: RecordBatch) -> connectors::Result<()> {
        tokio::time::sleep(Duration::from_millis(4)).await;
        let ahead = self.metrics.extracted.batches().saturating_sub(self.loaded);
        self.ahead.fetch_max(ahead, Ordering::Relaxed);
        self.loaded += 1;
        self.rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        Ok(())
    }
    async fn finish(&mut self) -> connectors::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Target for SlowTarget {
    fn target_id(&self) -> String {
        "slow".into()
    }
    async fn writer(&self, _: usize) -> connectors::Result<Box<dyn Writer>> {
        Ok(Box::new(SlowWriter {
            rows: self.rows.clone(),
            loaded: 0,
            metrics: self.metrics.clone(),
            ahead: self.ahead.clone(),
        }))
    }
    async fn commit(&self) -> connectors::Result<()> {
        Ok(())
    }
    async fn abort(&self) -> connectors::Result<()> {
        Ok(())
    }
}

/// Run `rows` generated rows into the slow target; (most batches the source was ever ahead of
/// the target, peak RSS growth in bytes).
async fn run(rows: u64) -> (u64, u64) {
    let config = serde_json::json!({ "rows": rows, "batch_size": 20_000 });
    let source = registry::open_source("generate", &config, SourceContext::default())
        .await
        .unwrap();
    let loaded = Arc::new(AtomicU64::new(0));
    let metrics = RunMetrics::new();
    let ahead = Arc::new(AtomicU64::new(0));
    let pipeline = Pipeline {
        source,
        target: Box::new(SlowTarget {
            rows: loaded.clone(),
            metrics: metrics.clone(),
            ahead: ahead.clone(),
        }),
        transform: None,
        max_buffered_batches: 2,
        add_op_fields: false,
    };
    let (baseline, _) = memory_usage();
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(memory_usage().0, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let drained = pipeline.run(Shutdown::default(), metrics).await;
    sampler.abort();
    assert_eq!(drained.failure, None);
    assert_eq!(loaded.load(Ordering::Relaxed), rows, "rows lost");
    (
        ahead.load(Ordering::Relaxed),
        peak.load(Ordering::Relaxed).saturating_sub(baseline),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_keeps_memory_bounded_whatever_the_source_size() {
    let (small_ahead, small_growth) = run(400_000).await;
    let (large_ahead, large_growth) = run(8_000_000).await;
    // Window = 3 queues × 2 + 1 target worker; without backpressure the source (far faster than
    // the 4 ms/batch target) would run hundreds of batches ahead.
    assert!(
        small_ahead <= 7 && large_ahead <= 7,
        "source ahead by {small_ahead}, {large_ahead} batches"
    );
    // 8M rows are ~1.5 GB of Arrow data; held in memory it would show. Bounded, it does not.
    let mib = |b: u64| b / (1024 * 1024);
    assert!(
        large_growth < small_growth + 64 * 1024 * 1024,
        "RSS grew with the source: {} MiB for 20× the rows vs {} MiB",
        mib(large_growth),
        mib(small_growth)
    );
}
