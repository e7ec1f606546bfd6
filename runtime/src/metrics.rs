//! The run's own measurements: rows and bytes per stage, queue depths, wasm time, memory.
//! The pipeline's stages bump atomic counters; the run reads them into [`Progress`] samples,
//! which is all its observers see.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use arrow::array::{Array, RecordBatch};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

static PROCESS_START: OnceLock<Instant> = OnceLock::new();

/// Mark the process's start (first call wins); the reference for [`RunMetrics::first_loaded`].
pub fn mark_process_start() -> Instant {
    *PROCESS_START.get_or_init(Instant::now)
}

/// Rows, batches and bytes that went through one stage.
#[derive(Debug, Default)]
pub struct StageCounters {
    rows: AtomicU64,
    batches: AtomicU64,
    bytes: AtomicU64,
}

impl StageCounters {
    /// Count one batch of `rows` rows and `bytes` bytes of Arrow memory.
    pub fn add(&self, rows: usize, bytes: usize) {
        self.rows.fetch_add(rows as u64, Relaxed);
        self.batches.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }
    /// Count one batch.
    pub fn add_batch(&self, batch: &RecordBatch) {
        self.add(batch.num_rows(), batch_bytes(batch));
    }
    /// Rows so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Relaxed)
    }
    /// Batches so far.
    pub fn batches(&self) -> u64 {
        self.batches.load(Relaxed)
    }
    /// Bytes so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Relaxed)
    }
}

/// Live queue depths, set by whoever owns the queues.
#[derive(Debug, Default)]
pub struct QueueDepths {
    /// Batches waiting for a transform worker.
    pub to_transform: AtomicU64,
    /// Batches waiting for a target worker.
    pub to_target: AtomicU64,
    /// Batches held back to restore source order.
    pub reordering: AtomicU64,
}

/// Everything a run measures about itself.
#[derive(Debug)]
pub struct RunMetrics {
    /// When the run started.
    pub started: Instant,
    /// Rows read from the source.
    pub extracted: StageCounters,
    /// Rows that came out of the transform stage (= extracted on the native path).
    pub transformed: StageCounters,
    /// Rows written by the target workers.
    pub loaded: StageCounters,
    /// Time spent inside wasm calls, summed over workers, in nanoseconds.
    pub wasm_nanos: AtomicU64,
    /// Time the source spent producing batches, in nanoseconds.
    pub extract_nanos: AtomicU64,
    /// Time spent in target `load` calls, summed over workers, in nanoseconds.
    pub load_nanos: AtomicU64,
    /// Instances replaced after growing past the recycling threshold.
    pub recycled_instances: AtomicU64,
    /// Queue depths.
    pub queues: QueueDepths,
    /// Most batches alive at once between extract and load (the memory bound in action).
    pub peak_in_flight: AtomicU64,
    /// Time from process start to the first batch loaded (startup cost as a user feels it).
    pub first_loaded: OnceLock<Duration>,
}

impl RunMetrics {
    /// Fresh counters, starting the clock now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            extracted: StageCounters::default(),
            transformed: StageCounters::default(),
            loaded: StageCounters::default(),
            wasm_nanos: AtomicU64::new(0),
            extract_nanos: AtomicU64::new(0),
            load_nanos: AtomicU64::new(0),
            recycled_instances: AtomicU64::new(0),
            queues: QueueDepths::default(),
            peak_in_flight: AtomicU64::new(0),
            first_loaded: OnceLock::new(),
        })
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Rows that went into the transform but did not come out (filters).
    pub fn dropped(&self) -> u64 {
        self.extracted
            .rows()
            .saturating_sub(self.transformed.rows())
    }
}

/// Rows, batches and bytes of one stage at a moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageCount {
    /// Rows so far.
    pub rows: u64,
    /// Batches so far.
    pub batches: u64,
    /// Bytes of Arrow data so far.
    pub bytes: u64,
}

impl StageCounters {
    /// The counts now.
    pub fn count(&self) -> StageCount {
        StageCount {
            rows: self.rows(),
            batches: self.batches(),
            bytes: self.bytes(),
        }
    }
}

/// A run's counters at one moment: what its observers see of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// When the sample was taken.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Time since the run started.
    pub elapsed: Duration,
    /// Rows read from the source.
    pub extracted: StageCount,
    /// Rows out of the transform stage (= extracted on the native path).
    pub transformed: StageCount,
    /// Rows written by the target workers.
    pub loaded: StageCount,
    /// Time inside wasm calls, summed over workers, in nanoseconds.
    pub wasm_nanos: u64,
    /// Time the source spent producing batches, in nanoseconds.
    pub extract_nanos: u64,
    /// Time in target loads, summed over workers, in nanoseconds.
    pub load_nanos: u64,
    /// Batches waiting for a transform worker.
    pub queue_to_transform: u64,
    /// Batches waiting for a target worker.
    pub queue_to_target: u64,
    /// Resident memory now, in bytes.
    pub rss_bytes: u64,
    /// Highest resident memory of the process so far, in bytes.
    pub peak_rss_bytes: u64,
    /// Most batches alive at once between extract and load.
    pub peak_in_flight: u64,
    /// Instances replaced after growing past the recycling threshold.
    pub recycled_instances: u64,
    /// Time from process start to the first batch loaded.
    pub first_loaded: Option<Duration>,
}

impl Progress {
    /// Rows that went into the transform but did not come out (filters).
    pub fn dropped(&self) -> u64 {
        self.extracted.rows.saturating_sub(self.transformed.rows)
    }
}

impl RunMetrics {
    /// The counters now.
    pub fn progress(&self) -> Progress {
        let (rss_bytes, peak_rss_bytes) = memory_usage();
        Progress {
            at: chrono::Utc::now(),
            elapsed: self.elapsed(),
            extracted: self.extracted.count(),
            transformed: self.transformed.count(),
            loaded: self.loaded.count(),
            wasm_nanos: self.wasm_nanos.load(Relaxed),
            extract_nanos: self.extract_nanos.load(Relaxed),
            load_nanos: self.load_nanos.load(Relaxed),
            queue_to_transform: self.queues.to_transform.load(Relaxed),
            queue_to_target: self.queues.to_target.load(Relaxed),
            rss_bytes,
            peak_rss_bytes,
            peak_in_flight: self.peak_in_flight.load(Relaxed),
            recycled_instances: self.recycled_instances.load(Relaxed),
            first_loaded: self.first_loaded.get().copied(),
        }
    }
}

/// Bytes of Arrow data a batch holds: its slices only, not the whole buffers they may share
/// (a batch decoded in place from a guest's output points into one large buffer).
pub fn batch_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
        .sum()
}

/// Resident memory of this process now and at its peak, in bytes (Linux `/proc`).
pub fn memory_usage() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `n` per second over `elapsed`.
pub fn rate(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}
