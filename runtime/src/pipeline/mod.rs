//! The pipeline: source → bounded queue → N transform workers (blocking threads, one wasm
//! instance each) → sequencer (restores source order when the target needs it) → bounded
//! queue → M target workers.
//!
//! Memory is bounded by a window of in-flight batches: the source takes a slot per batch and the
//! slot is freed only when the batch has been loaded, so a slow target slows the source down.
//!
//! Ending: end of source → drain → writers finish → destination commits → `completed`.
//! A stop request (Ctrl-C/SIGTERM) stops the source and drains what is in flight → `exited`
//! (INCREMENTAL commits what was loaded; FULL_TABLE rolls back, the old target stays).
//! Any stage error stops everything and rolls the destination back → `failed`.

mod envelope;
mod op_fields;
mod stages;

use std::sync::{Arc, Mutex};

use fastlane_connectors::{Destination, Offset, ReplicationMode, Source};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::monitor::RunMetrics;
use crate::wasm::TransformInstance;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Source exhausted, everything loaded and committed.
    Completed,
    /// A stage failed; the destination was rolled back.
    Failed,
    /// Stopped on request (Ctrl-C/SIGTERM) after draining.
    Exited,
}

/// The result of a run.
#[derive(Debug)]
pub struct RunOutcome {
    /// How it ended.
    pub status: RunStatus,
    /// The cause, when `Failed`.
    pub error: Option<String>,
    /// INCREMENTAL runs: the largest key the target holds once the run is over (what the next
    /// run resumes after), whatever the status.
    pub end_offset: Option<Offset>,
    /// What the run measured.
    pub metrics: Arc<RunMetrics>,
}

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

/// Everything a run needs, already opened and validated.
pub struct Pipeline {
    /// Where batches come from.
    pub source: Box<dyn Source>,
    /// Where batches go.
    pub destination: Box<dyn Destination>,
    /// The Wasm transform, or `None` for the native path.
    pub transform: Option<TransformStage>,
    /// Capacity of each queue between stages.
    pub max_buffered_batches: usize,
    /// Append `_op_type` / `_op_timestamp` columns.
    pub add_op_fields: bool,
    /// The run's replication mode (decides what an interrupted run keeps).
    pub replication_mode: ReplicationMode,
    /// A FULL_TABLE run may replace the target with nothing (otherwise a run that loads no
    /// row fails and leaves the target as it was).
    pub allow_empty: bool,
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
    pub async fn run(self, shutdown: Shutdown, metrics: Arc<RunMetrics>) -> RunOutcome {
        let Pipeline {
            source,
            destination,
            transform,
            max_buffered_batches,
            add_op_fields,
            replication_mode,
            allow_empty,
        } = self;
        let destination: Arc<dyn Destination> = Arc::from(destination);
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
                    return finish(
                        destination.as_ref(),
                        &failure,
                        &shutdown,
                        (replication_mode, allow_empty),
                        metrics,
                    )
                    .await;
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
        finish(
            destination.as_ref(),
            &failure,
            &shutdown,
            (replication_mode, allow_empty),
            metrics,
        )
        .await
    }
}

/// Commit or roll back the destination, decide the run's status and, for INCREMENTAL runs, read
/// back the offset the next run will resume after.
async fn finish(
    destination: &dyn Destination,
    failure: &Failure,
    shutdown: &Shutdown,
    (mode, allow_empty): (ReplicationMode, bool),
    metrics: Arc<RunMetrics>,
) -> RunOutcome {
    let mut outcome = settle(destination, failure, shutdown, (mode, allow_empty), metrics).await;
    if mode == ReplicationMode::Incremental {
        outcome.end_offset = match destination.get_offset().await {
            Ok(offset) => offset,
            Err(e) => {
                tracing::warn!(
                    "target {}: cannot read the offset reached: {e}",
                    destination.target_id()
                );
                None
            }
        };
    }
    outcome
}

/// Commit or roll back the destination and decide the run's status.
async fn settle(
    destination: &dyn Destination,
    failure: &Failure,
    shutdown: &Shutdown,
    (mode, allow_empty): (ReplicationMode, bool),
    metrics: Arc<RunMetrics>,
) -> RunOutcome {
    let id = destination.target_id();
    if let Some(error) = failure.take() {
        rollback(destination).await;
        let status = if shutdown.abort.is_cancelled() {
            RunStatus::Exited
        } else {
            RunStatus::Failed
        };
        return RunOutcome {
            status,
            error: Some(error),
            end_offset: None,
            metrics,
        };
    }
    let interrupted = shutdown.stop.is_cancelled();
    // Stopped hard, writers did not flush: nothing of this run may be kept. Interrupted in
    // FULL_TABLE mode, the run holds a partial copy: keep the previous target instead.
    if shutdown.abort.is_cancelled() || (interrupted && mode == ReplicationMode::FullTable) {
        rollback(destination).await;
        return RunOutcome {
            status: RunStatus::Exited,
            error: None,
            end_offset: None,
            metrics,
        };
    }
    // A FULL_TABLE run that loaded nothing would silently empty the target: refused unless
    // the config says an empty result is expected.
    if mode == ReplicationMode::FullTable
        && !interrupted
        && !allow_empty
        && metrics.loaded.rows() == 0
    {
        rollback(destination).await;
        let extracted = metrics.extracted.rows();
        let why = if extracted == 0 {
            "the source delivered no rows".to_string()
        } else {
            format!("the transform dropped all {extracted} rows the source delivered")
        };
        return RunOutcome {
            status: RunStatus::Failed,
            error: Some(format!(
                "target {id}: {why}; a FULL_TABLE run would replace the target with an empty one, so nothing was changed (set \"allow_empty\": true in the config if an empty result is expected)"
            )),
            end_offset: None,
            metrics,
        };
    }
    match destination.commit().await {
        Ok(()) => {
            let status = if interrupted {
                RunStatus::Exited
            } else {
                RunStatus::Completed
            };
            RunOutcome {
                status,
                error: None,
                end_offset: None,
                metrics,
            }
        }
        Err(e) => {
            rollback(destination).await;
            RunOutcome {
                status: RunStatus::Failed,
                error: Some(format!("target {id}: commit failed: {e}")),
                end_offset: None,
                metrics,
            }
        }
    }
}

/// Discard what the run staged; a failure to do so is logged (the run's own error matters more).
async fn rollback(destination: &dyn Destination) {
    if let Err(e) = destination.abort().await {
        tracing::error!("target {}: rollback failed: {e}", destination.target_id());
    }
}
