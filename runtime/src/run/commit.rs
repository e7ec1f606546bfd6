//! The end of a run's data path: the target commits (a checkpoint: the run's data becomes
//! visible, and an INCREMENTAL run's offset moves on) or rolls back, and the run's status is
//! decided.
//!
//! - a stage failed → roll back → `failed` (`exited` if the run was being stopped at once);
//! - stopped at once, or stopped while a FULL_TABLE run (which keeps nothing unfinished) was
//!   loading → roll back → `exited`, the previous target intact;
//! - a FULL_TABLE run that loaded no row and may not (`allow_empty`) → roll back → `failed`;
//! - otherwise commit → `completed` (`exited` for an INCREMENTAL run stopped after draining);
//!   a failed commit rolls back → `failed`.
//!
//! INCREMENTAL runs then read the target's largest key: where the next run resumes.

use fastlane_connectors::{Offset, ReplicationMode, Target};
use fastlane_wire::model::RunStatus;

use super::{Observers, RunEvent, Shutdown};
use crate::metrics::Progress;
use crate::pipeline::Drained;

/// How a run's end was settled.
#[derive(Debug)]
pub struct Settled {
    /// `completed`, `failed` or `exited`.
    pub status: RunStatus,
    /// The cause, when failed.
    pub error: Option<String>,
    /// INCREMENTAL runs: the target's largest key once settled.
    pub end_offset: Option<Offset>,
    /// The error was in the config.
    pub config_error: bool,
}

impl Settled {
    /// Stopped on request before any data moved.
    pub fn stopped() -> Self {
        Self::ended(RunStatus::Exited, None)
    }

    fn ended(status: RunStatus, error: Option<String>) -> Self {
        Self {
            status,
            error,
            end_offset: None,
            config_error: false,
        }
    }
}

/// What settling a run takes into account.
pub struct Settle<'a> {
    /// The run's replication mode.
    pub mode: ReplicationMode,
    /// A FULL_TABLE run may load no row.
    pub allow_empty: bool,
    /// The stop requests the run got.
    pub shutdown: &'a Shutdown,
    /// The counters once the pipeline drained.
    pub progress: Progress,
    /// Who hears of the checkpoint and of warnings.
    pub observers: &'a Observers,
}

impl Settle<'_> {
    /// Commit or roll back the drained pipeline's target, and read back the offset reached.
    pub async fn settle(self, drained: Drained) -> Settled {
        let target = drained.target.as_ref();
        let (mut settled, committed) = self.commit_or_roll_back(target, drained.failure).await;
        if self.mode == ReplicationMode::Incremental {
            settled.end_offset = match target.get_offset().await {
                Ok(offset) => offset,
                Err(e) => {
                    self.warn(format!(
                        "target {}: cannot read the offset reached: {e}",
                        target.target_id()
                    ));
                    None
                }
            };
        }
        if committed {
            self.observers.emit(RunEvent::Checkpoint {
                offset: settled.end_offset.clone(),
            });
        }
        settled
    }

    /// The run's status, and whether the target committed.
    async fn commit_or_roll_back(
        &self,
        target: &dyn Target,
        failure: Option<String>,
    ) -> (Settled, bool) {
        let id = target.target_id();
        if let Some(error) = failure {
            self.roll_back(target).await;
            let status = if self.shutdown.abort.is_cancelled() {
                RunStatus::Exited
            } else {
                RunStatus::Failed
            };
            return (Settled::ended(status, Some(error)), false);
        }
        let interrupted = self.shutdown.stop.is_cancelled();
        // Stopped hard, writers did not flush: nothing of this run may be kept. Interrupted in
        // FULL_TABLE mode, the run holds a partial copy: keep the previous target instead.
        if self.shutdown.abort.is_cancelled()
            || (interrupted && self.mode == ReplicationMode::FullTable)
        {
            self.roll_back(target).await;
            return (Settled::stopped(), false);
        }
        // A FULL_TABLE run that loaded nothing would silently empty the target: refused unless
        // the config says an empty result is expected.
        if self.mode == ReplicationMode::FullTable
            && !interrupted
            && !self.allow_empty
            && self.progress.loaded.rows == 0
        {
            self.roll_back(target).await;
            let extracted = self.progress.extracted.rows;
            let why = if extracted == 0 {
                "the source delivered no rows".to_string()
            } else {
                format!("the transform dropped all {extracted} rows the source delivered")
            };
            let error = format!(
                "target {id}: {why}; a FULL_TABLE run would replace the target with an empty one, so nothing was changed (set \"allow_empty\": true in the config if an empty result is expected)"
            );
            return (Settled::ended(RunStatus::Failed, Some(error)), false);
        }
        match target.commit().await {
            Ok(()) => {
                let status = if interrupted {
                    RunStatus::Exited
                } else {
                    RunStatus::Completed
                };
                (Settled::ended(status, None), true)
            }
            Err(e) => {
                self.roll_back(target).await;
                let error = format!("target {id}: commit failed: {e}");
                (Settled::ended(RunStatus::Failed, Some(error)), false)
            }
        }
    }

    /// Discard what the run staged; a failure to do so is a warning (the run's own error
    /// matters more).
    async fn roll_back(&self, target: &dyn Target) {
        if let Err(e) = target.abort().await {
            let message = format!("target {}: rollback failed: {e}", target.target_id());
            tracing::error!("{message}");
            self.observers.emit(RunEvent::Warning(message));
        }
    }

    fn warn(&self, message: String) {
        tracing::warn!("{message}");
        self.observers.emit(RunEvent::Warning(message));
    }
}
