//! What a run tells the world, and who listens: one event type, observers that hear every
//! event of a run in order (the progress line, the summary, the monitoring API, CloudWatch,
//! Slack), and [`Observers`], which hands each event to each of them.
//!
//! An observer never blocks the run: it reacts at once or keeps what it ships out in a bounded
//! buffer ([`crate::observe::outbox`]), and delivers it from its own task. At the end it gets
//! a bounded time to deliver what is left ([`Observer::finish`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fastlane_connectors::{Offset, ReplicationMode};
use tokio_util::sync::CancellationToken;

use crate::logging::tap::TappedEvent;
use crate::metrics::Progress;
use fastlane_wire::model::RunStatus;

/// What a run is, as it starts.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The run's id (the monitoring API's when the run is reported).
    pub run_id: String,
    /// The pipeline's id: `{source}-{target}-{target_id}`, as the API names it.
    pub pipeline_id: String,
    /// The source connector type.
    pub source_type: String,
    /// The target connector type.
    pub target_type: String,
    /// The target's own id (`db.table`, a path).
    pub target_id: String,
    /// FULL_TABLE or INCREMENTAL.
    pub replication_mode: ReplicationMode,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The config as it may be shown or stored (secrets redacted).
    pub config: serde_json::Value,
}

/// The transform a run uses, once it is ready.
#[derive(Clone, Debug)]
pub struct TransformReady {
    /// Its name and version (from `describe`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of the component (hex).
    pub digest: String,
    /// Whether the compiled code came from the on-disk cache.
    pub cached: bool,
    /// Transform workers (one instance each).
    pub workers: usize,
}

impl TransformReady {
    /// `mask 0.1.0 ×2 (cached compiled component)`.
    pub fn label(&self) -> String {
        format!(
            "{} {} ×{} ({} compiled component)",
            self.name,
            self.version,
            self.workers,
            if self.cached { "cached" } else { "freshly" }
        )
    }
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// `completed`, `failed` or `exited` (stopped on request).
    pub status: RunStatus,
    /// The cause, when failed.
    pub error: Option<String>,
    /// INCREMENTAL runs: the largest key the target holds once the run is over (where the next
    /// run resumes), whatever the status.
    pub end_offset: Option<Offset>,
    /// The run's counters at its end.
    pub progress: Progress,
    /// The transform, when there was one and it got ready.
    pub transform: Option<TransformReady>,
    /// The error was in the config (exit code 2) rather than in the run.
    pub config_error: bool,
    /// The run failed before any data moved (while preparing or opening its connectors).
    pub failed_early: bool,
}

/// One thing that happened to a run.
#[derive(Clone, Debug)]
pub enum RunEvent {
    /// The run starts.
    Started(RunInfo),
    /// The transform is compiled, checked and initialised.
    TransformReady(TransformReady),
    /// An INCREMENTAL run resumes after this key (the target's largest).
    Resuming(Offset),
    /// The run's counters, every sampling interval while data moves.
    Progress(Progress),
    /// A log line of the run (info and above, the transform's own lines included).
    Log(TappedEvent),
    /// Something went wrong that does not change the run's outcome.
    Warning(String),
    /// The target made the run's data visible; `offset` is where a next run would resume.
    Checkpoint {
        /// The target's largest key after the commit (INCREMENTAL runs).
        offset: Option<Offset>,
    },
    /// The run is over.
    Finished(Outcome),
}

/// Something that hears a run's events.
#[async_trait]
pub trait Observer: Send + Sync {
    /// Hear one event. Never blocks: what must be shipped out is kept in a bounded buffer.
    fn on_event(&self, event: &RunEvent);

    /// How often it wants [`RunEvent::Progress`] while data moves (`None`: it does not
    /// care). The run samples as often as its most demanding observer asks.
    fn sample_every(&self) -> Option<Duration> {
        None
    }

    /// Where it sends the run's events, said once in the run log as the run starts.
    fn destination(&self) -> Option<String> {
        None
    }

    /// The run is over: deliver what is still buffered, within `deadline` and until `give_up`
    /// is cancelled (a Ctrl-C), and say what could not be delivered.
    async fn finish(
        self: Box<Self>,
        deadline: Duration,
        give_up: CancellationToken,
    ) -> Vec<String> {
        let _ = (deadline, give_up);
        Vec::new()
    }
}

/// Every observer of a run; each event goes to each of them, in order.
///
/// No lock is held while an observer hears an event: an observer may log, and its log line
/// comes back here as an event.
#[derive(Default)]
pub struct Observers {
    list: Mutex<Arc<Vec<Box<dyn Observer>>>>,
}

impl Observers {
    /// No observer yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one.
    pub fn add(&mut self, observer: impl Observer + 'static) {
        let list = self.list.get_mut().unwrap_or_else(|e| e.into_inner());
        match Arc::get_mut(list) {
            Some(list) => list.push(Box::new(observer)),
            None => unreachable!("observers are added before the run shares them"),
        }
    }

    /// The shortest sampling interval any observer asks for.
    pub fn sample_every(&self) -> Option<Duration> {
        let list = Arc::clone(&self.list.lock().unwrap_or_else(|e| e.into_inner()));
        list.iter().filter_map(|o| o.sample_every()).min()
    }

    /// Where the observers send the run's events.
    pub fn destinations(&self) -> Vec<String> {
        let list = Arc::clone(&self.list.lock().unwrap_or_else(|e| e.into_inner()));
        list.iter().filter_map(|o| o.destination()).collect()
    }

    /// Hand `event` to every observer.
    pub fn emit(&self, event: RunEvent) {
        let list = Arc::clone(&self.list.lock().unwrap_or_else(|e| e.into_inner()));
        for observer in list.iter() {
            observer.on_event(&event);
        }
    }

    /// Take the observers out (later events go nowhere), waiting for events being handed out
    /// to be heard.
    pub fn take(&self) -> Observers {
        let mut list = std::mem::take(&mut *self.list.lock().unwrap_or_else(|e| e.into_inner()));
        loop {
            match Arc::try_unwrap(list) {
                Ok(list) => {
                    return Observers {
                        list: Mutex::new(Arc::new(list)),
                    }
                }
                Err(shared) => {
                    list = shared;
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Let every observer deliver what it holds, all at once, within `deadline`; the warnings
    /// of those that could not.
    pub async fn finish(self, deadline: Duration, give_up: CancellationToken) -> Vec<String> {
        let list = self.list.into_inner().unwrap_or_else(|e| e.into_inner());
        let list = Arc::try_unwrap(list).unwrap_or_default();
        let finishing = list
            .into_iter()
            .map(|observer| observer.finish(deadline, give_up.clone()));
        futures_util::future::join_all(finishing)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}
