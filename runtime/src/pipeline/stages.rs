//! The stages of a run. Each one reads a queue, does its one job and writes the next queue;
//! they share nothing but channels, counters and the run's [`Failure`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use async_channel::{Receiver, Sender};
use fastlane_connectors::{Source, Writer};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::envelope::{Envelope, Seq};
use super::{op_fields, Failure};
use crate::metrics::RunMetrics;
use crate::wasm::TransformInstance;

pub(crate) struct SourceStage {
    pub(crate) source: Box<dyn Source>,
    pub(crate) out: Sender<Envelope>,
    pub(crate) window: Arc<Semaphore>,
    pub(crate) window_size: usize,
    pub(crate) stop: CancellationToken,
    pub(crate) failure: Failure,
    pub(crate) metrics: Arc<RunMetrics>,
    /// Number of batches extracted, published when the source ends.
    pub(crate) total: Arc<AtomicU64>,
}

/// Extract batches until the source is exhausted, a stop is requested or the run fails.
pub(crate) async fn source_stage(mut s: SourceStage) {
    let mut seq: Seq = 0;
    loop {
        let slot = tokio::select! {
            _ = s.stop.cancelled() => break,
            _ = s.failure.abort.cancelled() => break,
            slot = s.window.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let in_flight = (s.window_size - s.window.available_permits()) as u64;
        s.metrics
            .peak_in_flight
            .fetch_max(in_flight, Ordering::Relaxed);
        let started = Instant::now();
        let next = tokio::select! {
            _ = s.stop.cancelled() => break,
            _ = s.failure.abort.cancelled() => break,
            next = s.source.extract() => next,
        };
        s.metrics
            .extract_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let batch = match next {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(e) => {
                s.failure.fail(format!("source: {e}"));
                break;
            }
        };
        s.metrics.extracted.add_batch(&batch);
        let envelope = Envelope {
            seq,
            batch: Some(batch),
            _slot: Some(slot),
        };
        tokio::select! {
            _ = s.failure.abort.cancelled() => break,
            sent = s.out.send(envelope) => if sent.is_err() { break },
        }
        s.metrics
            .queues
            .to_transform
            .store(s.out.len() as u64, Ordering::Relaxed);
        seq += 1;
    }
    s.total.store(seq, Ordering::Release);
}

pub(crate) struct TransformWorker {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) config: String,
    pub(crate) instance: TransformInstance,
    pub(crate) input: Receiver<Envelope>,
    pub(crate) output: Sender<Envelope>,
    pub(crate) failure: Failure,
    pub(crate) metrics: Arc<RunMetrics>,
    pub(crate) source_total: Arc<AtomicU64>,
}

impl TransformWorker {
    /// Runs on a blocking thread: wasm calls are CPU-bound and must not stall the executor.
    pub(crate) fn run(mut self) {
        lower_priority();
        while let Ok(envelope) = self.input.recv_blocking() {
            if self.failure.abort.is_cancelled() {
                return;
            }
            let Some(batch) = &envelope.batch else {
                continue;
            };
            let started = Instant::now();
            let result = self.instance.transform(envelope.seq, batch);
            self.metrics
                .wasm_nanos
                .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            let out = match result {
                Ok(out) => out,
                // The run is stopping at once: the call was interrupted, not at fault.
                Err(_) if self.failure.abort.is_cancelled() => return,
                Err(e) => return self.failure.fail(e.to_string()),
            };
            self.count(&out);
            if self.instance.should_recycle() {
                if let Err(e) = self.recycle() {
                    return self.failure.fail(e);
                }
            }
            let envelope = Envelope {
                seq: envelope.seq,
                batch: out,
                _slot: envelope._slot,
            };
            if self.output.send_blocking(envelope).is_err() {
                return;
            }
        }
        if self.failure.abort.is_cancelled() {
            return;
        }
        // End of stream: every worker sends one more envelope (maybe empty) so the sequencer
        // sees contiguous numbers: the source's batches 0..total, then total + worker index.
        let out = match self.instance.finish() {
            Ok(out) => out,
            Err(_) if self.failure.abort.is_cancelled() => return,
            Err(e) => return self.failure.fail(e.to_string()),
        };
        self.count(&out);
        let seq = self.source_total.load(Ordering::Acquire) + self.index as u64;
        let _ = self.output.send_blocking(Envelope {
            seq,
            batch: out,
            _slot: None,
        });
    }

    fn count(&self, out: &Option<RecordBatch>) {
        if let Some(b) = out {
            self.metrics.transformed.add_batch(b);
        }
    }

    /// Replace an instance whose memory grew past the threshold with a fresh, initialised one.
    fn recycle(&mut self) -> Result<(), String> {
        let peak = self.instance.peak_memory();
        let component = self.instance.component().clone();
        let mut fresh = component.instantiate().map_err(|e| e.to_string())?;
        fresh.set_name(&self.name);
        fresh.init(&self.config).map_err(|e| e.to_string())?;
        tracing::debug!(transform = %self.name, worker = self.index, peak, "recycled instance past the memory high-water mark");
        self.metrics
            .recycled_instances
            .fetch_add(1, Ordering::Relaxed);
        self.instance = fresh;
        Ok(())
    }
}

pub(crate) struct Sequencer {
    pub(crate) input: Receiver<Envelope>,
    pub(crate) output: Sender<Envelope>,
    /// Restore source order (the target needs it); otherwise forward as they come.
    pub(crate) ordered: bool,
    /// Native path: there is no transform stage to count rows as transformed.
    pub(crate) count_as_transformed: bool,
    pub(crate) add_op_fields: bool,
    pub(crate) failure: Failure,
    pub(crate) metrics: Arc<RunMetrics>,
}

/// Put batches back in source order when needed, add op fields, and feed the target queue.
pub(crate) async fn sequencer(s: Sequencer) {
    let mut pending: BTreeMap<Seq, Envelope> = BTreeMap::new();
    let mut next: Seq = 0;
    loop {
        let envelope = tokio::select! {
            _ = s.failure.abort.cancelled() => return,
            received = s.input.recv() => match received {
                Ok(e) => e,
                Err(_) => break,
            },
        };
        if !s.ordered {
            if !forward(&s, envelope).await {
                return;
            }
            continue;
        }
        pending.insert(envelope.seq, envelope);
        while let Some(ready) = pending.remove(&next) {
            next += 1;
            if !forward(&s, ready).await {
                return;
            }
        }
        s.metrics
            .queues
            .reordering
            .store(pending.len() as u64, Ordering::Relaxed);
    }
    // Input closed: whatever is left (only the end-of-stream envelopes) goes out in order.
    for (_, envelope) in std::mem::take(&mut pending) {
        if !forward(&s, envelope).await {
            return;
        }
    }
}

async fn forward(s: &Sequencer, mut envelope: Envelope) -> bool {
    let Some(batch) = envelope.batch.take() else {
        return true;
    };
    if s.count_as_transformed {
        s.metrics.transformed.add_batch(&batch);
    }
    let batch = if s.add_op_fields {
        match op_fields::append(&batch) {
            Ok(b) => b,
            Err(e) => {
                s.failure.fail(format!(
                    "adding _op_type/_op_timestamp to batch {}: {e}",
                    envelope.seq
                ));
                return false;
            }
        }
    } else {
        batch
    };
    envelope.batch = Some(batch);
    let sent = tokio::select! {
        _ = s.failure.abort.cancelled() => return false,
        sent = s.output.send(envelope) => sent.is_ok(),
    };
    s.metrics
        .queues
        .to_target
        .store(s.output.len() as u64, Ordering::Relaxed);
    sent
}

/// Load batches until the queue closes, then flush.
pub(crate) async fn target_worker(
    mut writer: Box<dyn Writer>,
    input: Receiver<Envelope>,
    failure: Failure,
    metrics: Arc<RunMetrics>,
    target_id: String,
) {
    loop {
        let envelope = tokio::select! {
            _ = failure.abort.cancelled() => return,
            received = input.recv() => match received {
                Ok(e) => e,
                Err(_) => break,
            },
        };
        metrics
            .queues
            .to_target
            .store(input.len() as u64, Ordering::Relaxed);
        let Some(batch) = envelope.batch else {
            continue;
        };
        let (rows, bytes) = (batch.num_rows(), crate::metrics::batch_bytes(&batch));
        let started = Instant::now();
        let loaded = tokio::select! {
            _ = failure.abort.cancelled() => return,
            loaded = writer.load(batch) => loaded,
        };
        metrics
            .load_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if let Err(e) = loaded {
            return failure.fail(format!("target {target_id}: batch {}: {e}", envelope.seq));
        }
        metrics.loaded.add(rows, bytes);
        metrics
            .first_loaded
            .get_or_init(|| crate::metrics::mark_process_start().elapsed());
    }
    if let Err(e) = writer.finish().await {
        failure.fail(format!("target {target_id}: {e}"));
    }
}

/// Give the calling thread a lower CPU priority (nice +5, Linux: per thread).
///
/// When the target is the bottleneck, the queues in front of it are full and the transform
/// workers are ahead anyway; at a lower priority they stop taking CPU from the target worker
/// (the critical path) on a machine with few cores. When the transform is the bottleneck, the
/// stages after it are idle and the workers get the CPU all the same.
fn lower_priority() {
    // SAFETY: setpriority has no memory-safety preconditions; `who = 0` is the calling thread.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 5) };
    if result != 0 {
        tracing::debug!(
            "could not lower the transform worker's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}
