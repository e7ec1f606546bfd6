//! The pipeline: source → bounded queue → N transform workers (blocking threads, one wasm
//! instance each) → sequencer (restores source order when the target needs it) → bounded
//! queue → M target workers.
//!
//! Memory is bounded by a window of in-flight batches: the source takes a slot per batch and the
//! slot is freed only when the batch has been loaded, so a slow target slows the source down.
//!
//! Ending: end of source → drain → writers finish → the pipeline hands the target back with
//! the first stage error, if any ([`Drained`]); the run decides whether the target commits or
//! rolls back (`crate::run`). A stop request (Ctrl-C/SIGTERM) stops the source and drains
//! what is in flight; an abort stops every stage at once, guests stuck in a call included.

mod envelope;
mod op_fields;
mod stages;

use std::sync::{Arc, Mutex};

use fastlane_connectors::{Source, Target};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::metrics::RunMetrics;
use crate::wasm::TransformInstance;

/// Requests from outside a running pipeline.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    /// Stop extracting, drain what is in flight, end as `exited`.
    pub stop: CancellationToken,
    /// Stop everything now (a second Ctrl-C).
    pub abort: CancellationToken,
}

/// The transform stage: one ready (initialised) instance per worker.
pub struct TransformStage {
    /// The transform's name (from `describe`), for messages.
    pub name: String,
    /// One initialised instance per worker.
    pub instances: Vec<TransformInstance>,
    /// The JSON config given to `init`, used again when an instance is recycled.
    pub config: String,
}

/// Everything the data path needs, already opened and validated.
pub struct Pipeline {
    /// Where batches come from.
    pub source: Box<dyn Source>,
    /// Where batches go.
    pub target: Box<dyn Target>,
    /// The Wasm transform, or `None` for the native path.
    pub transform: Option<TransformStage>,
    /// Capacity of each queue between stages.
    pub max_buffered_batches: usize,
    /// Append `_op_type` / `_op_timestamp` columns.
    pub add_op_fields: bool,
}

/// How the pipeline ended: the target (every writer finished, unless a stage failed or the
/// run was aborted) and the first stage error.
pub struct Drained {
    /// The target, to commit or roll back.
    pub target: Arc<dyn Target>,
    /// The first error of any stage.
    pub failure: Option<String>,
}

/// The first error of a run wins; every stage watches `abort` to stop early.
#[derive(Clone, Default)]
pub(crate) struct Failure {
    first: Arc<Mutex<Option<String>>>,
    pub(crate) abort: CancellationToken,
}

impl Failure {
    pub(crate) fn fail(&self, message: String) {
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            tracing::error!("{message}");
            *first = Some(message);
        }
        self.abort.cancel();
    }
    fn take(&self) -> Option<String> {
        self.first.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Pipeline {
    /// Run to the end, a stop request or the first error.
    pub async fn run(self, shutdown: Shutdown, metrics: Arc<RunMetrics>) -> Drained {
        let Pipeline {
            source,
            target,
            transform,
            max_buffered_batches,
            add_op_fields,
        } = self;
        let destination: Arc<dyn Target> = Arc::from(target);
        let failure = Failure::default();
        {
            let (abort, failure_abort) = (shutdown.abort.clone(), failure.abort.clone());
            // Stopping at once (a second signal) or failing: guests stuck in a call are cut
            // short at the next epoch tick instead of running to their deadline.
            let interrupt = transform
                .as_ref()
                .and_then(|t| t.instances.first())
                .map(|i| i.component().interrupt());
            tokio::spawn(async move {
                tokio::select! {
                    _ = abort.cancelled() => failure_abort.cancel(),
                    _ = failure_abort.cancelled() => {}
                }
                if let Some(interrupt) = interrupt {
                    interrupt.raise();
                }
            });
        }
        let buffered = max_buffered_batches.max(1);
        let transform_workers = transform.as_ref().map_or(0, |t| t.instances.len());
        let target_workers = destination.workers().max(1);

        // Open every writer before the first batch moves: a bad target fails fast.
        let mut writers = Vec::with_capacity(target_workers);
        for worker in 0..target_workers {
            match destination.writer(worker).await {
                Ok(w) => writers.push(w),
                Err(e) => {
                    failure.fail(format!("target {}: {e}", destination.target_id()));
                    return Drained {
                        target: destination,
                        failure: failure.take(),
                    };
                }
            }
        }

        // Batches alive between extract and load: the queues plus one per worker.
        let window_size = 3 * buffered + transform_workers + target_workers;
        let window = Arc::new(Semaphore::new(window_size));
        let (to_transform_tx, to_transform_rx) = async_channel::bounded(buffered);
        let (transformed_tx, transformed_rx) = async_channel::bounded(buffered);
        let (to_target_tx, to_target_rx) = async_channel::bounded(buffered);
        let source_total = Arc::new(std::sync::atomic::AtomicU64::new(0));

        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(stages::source_stage(stages::SourceStage {
            source,
            out: to_transform_tx,
            window: window.clone(),
            window_size,
            stop: shutdown.stop.clone(),
            failure: failure.clone(),
            metrics: metrics.clone(),
            total: source_total.clone(),
        }));
        let sequencer_input = match transform {
            Some(stage) => {
                let TransformStage {
                    name,
                    instances,
                    config,
                } = stage;
                for (index, instance) in instances.into_iter().enumerate() {
                    let worker = stages::TransformWorker {
                        index,
                        name: name.clone(),
                        config: config.clone(),
                        instance,
                        input: to_transform_rx.clone(),
                        output: transformed_tx.clone(),
                        failure: failure.clone(),
                        metrics: metrics.clone(),
                        source_total: source_total.clone(),
                    };
                    // A dedicated thread per worker: wasm calls are CPU-bound and must not
                    // stall the async executor (nor hold a thread of tokio's blocking pool).
                    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
                    let spawned = std::thread::Builder::new()
                        .name(format!("transform-{index}"))
                        .spawn(move || {
                            worker.run();
                            let _ = done_tx.send(());
                        });
                    let failure = failure.clone();
                    if let Err(e) = spawned {
                        failure.fail(format!("cannot start transform worker {index}: {e}"));
                    }
                    tasks.spawn(async move {
                        if done_rx.await.is_err() {
                            failure
                                .fail(format!("internal error: transform worker {index} panicked"));
                        }
                    });
                }
                drop(transformed_tx);
                transformed_rx
            }
            None => {
                drop(transformed_tx);
                drop(transformed_rx);
                to_transform_rx
            }
        };
        tasks.spawn(stages::sequencer(stages::Sequencer {
            input: sequencer_input,
            output: to_target_tx,
            ordered: destination.needs_order(),
            count_as_transformed: transform_workers == 0,
            add_op_fields,
            failure: failure.clone(),
            metrics: metrics.clone(),
        }));
        for writer in writers {
            tasks.spawn(stages::target_worker(
                writer,
                to_target_rx.clone(),
                failure.clone(),
                metrics.clone(),
                destination.target_id(),
            ));
        }
        drop(to_target_rx);

        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                failure.fail(format!("internal error: a pipeline stage panicked: {e}"));
            }
        }
        Drained {
            target: destination,
            failure: failure.take(),
        }
    }
}
