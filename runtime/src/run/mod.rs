//! A run as an object of the library: its whole life, from a resolved config to an outcome,
//! told to its observers as [`RunEvent`]s.
//!
//! ```text
//!  Started ─▶ prepare the transform ─▶ open the target ─▶ read its offset ─▶ open the source
//!    │            (TransformReady)                         (Resuming)
//!    ▼
//!  pipeline: source ─▶ transform workers ─▶ target writers   (Progress, every interval)
//!    │
//!    ▼
//!  settle: commit (Checkpoint) or roll back ─▶ end offset ─▶ Finished(Outcome)
//! ```
//!
//! The command line only builds a [`RunSpec`], picks the observers, calls [`Run::execute`] and
//! maps the outcome to an exit code. The settle step is where a long-lived run will checkpoint
//! repeatedly; today a run commits once, at its end.

pub mod commit;
pub mod connect;
pub mod events;
pub mod signals;
pub mod transform;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fastlane_connectors::{ReplicationMode, SourceContext, TargetContext};
use fastlane_wire::model::RunStatus;

pub use crate::pipeline::Shutdown;
pub use events::{Observer, Observers, Outcome, RunEvent, RunInfo, TransformReady};

use crate::config::{ConfigError, ResolvedConfig};
use crate::logging::tap;
use crate::metrics::RunMetrics;
use crate::pipeline::Pipeline;

/// What a run needs to start.
pub struct RunSpec {
    /// The checked config, with the chosen connectors.
    pub config: ResolvedConfig,
    /// The run's id: names it in logs, reports and staging objects.
    pub run_id: String,
    /// Where compiled components are cached (`None`: the default directory).
    pub cache_dir: Option<PathBuf>,
    /// Turn Ctrl-C/SIGTERM into stop requests while the run goes.
    pub listen_to_signals: bool,
}

/// A run's id when it is not reported to the API: its start time and the process id.
pub fn local_run_id(started_at: chrono::DateTime<chrono::Utc>) -> String {
    started_at.format("%Y%m%dT%H%M%S%.3fZ").to_string() + &format!("-{}", std::process::id())
}

/// The id of a pipeline: `{source}-{target}-{target_id}` with every character outside
/// `[A-Za-z0-9._-]` replaced by `_`, at most 200 characters (the monitoring API's rule).
pub fn pipeline_id(source_type: &str, target_type: &str, target_id: &str) -> String {
    format!("{source_type}-{target_type}-{target_id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect()
}

/// A run: its spec, the requests that stop it, and the observers that hear it.
pub struct Run {
    spec: RunSpec,
    info: RunInfo,
    observers: Arc<Observers>,
    shutdown: Shutdown,
    metrics: Arc<RunMetrics>,
}

impl Run {
    /// A run of `spec`, heard by no one yet.
    pub fn new(spec: RunSpec) -> Self {
        let config = &spec.config;
        let target_id = config.target_id();
        let info = RunInfo {
            run_id: spec.run_id.clone(),
            pipeline_id: pipeline_id(&config.source_type, &config.target_type, &target_id),
            source_type: config.source_type.clone(),
            target_type: config.target_type.clone(),
            target_id,
            replication_mode: config.pipeline.replication_mode,
            started_at: chrono::Utc::now(),
            config: config.shareable(),
        };
        Self {
            spec,
            info,
            observers: Arc::new(Observers::new()),
            shutdown: Shutdown::default(),
            metrics: RunMetrics::new(),
        }
    }

    /// What the run is.
    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// Let `observer` hear the run's events (before it starts).
    pub fn observe(&mut self, observer: impl Observer + 'static) {
        match Arc::get_mut(&mut self.observers) {
            Some(observers) => observers.add(observer),
            None => unreachable!("observers are added before the run starts"),
        }
    }

    /// The requests that stop the run (cancel `stop` to drain and end, `abort` to end now).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    fn emit(&self, event: RunEvent) {
        self.observers.emit(event);
    }

    /// Live the run to its end; its outcome (also told to the observers as
    /// [`RunEvent::Finished`]) and the observers, for them to deliver what they still hold.
    pub async fn execute(self) -> (Outcome, Observers) {
        self.emit(RunEvent::Started(self.info.clone()));
        let forwarding = {
            let observers = Arc::clone(&self.observers);
            tap::attach(move |line| observers.emit(RunEvent::Log(line)))
        };
        for destination in self.observers.destinations() {
            tracing::info!(run = %self.info.run_id, "reporting to {destination}");
        }
        let _signals = self.spec.listen_to_signals.then(|| {
            signals::watch(
                self.shutdown.clone(),
                self.spec.config.pipeline.replication_mode,
            )
        });
        let mut transform = None;
        let (settled, failed_early) = match self.lifecycle(&mut transform).await {
            Ok(settled) => (settled, false),
            Err(e) => {
                let message = format!("{e:#}");
                tracing::error!(run = %self.info.run_id, "run failed before any data moved: {message}");
                let settled = commit::Settled {
                    status: RunStatus::Failed,
                    error: Some(message),
                    end_offset: None,
                    config_error: e.downcast_ref::<ConfigError>().is_some(),
                };
                (settled, true)
            }
        };
        let outcome = Outcome {
            status: settled.status,
            error: settled.error,
            end_offset: settled.end_offset,
            progress: self.metrics.progress(),
            transform,
            config_error: settled.config_error,
            failed_early,
        };
        tracing::info!(run = %self.info.run_id, status = ?outcome.status, "run ended");
        self.emit(RunEvent::Finished(outcome.clone()));
        drop(forwarding);
        let observers = self.observers.take();
        (outcome, observers)
    }

    /// Prepare everything (nothing moves until all of it is ready), run the pipeline, settle.
    /// A stop request while preparing ends the run as `exited` before any data moves.
    async fn lifecycle(
        &self,
        ready: &mut Option<TransformReady>,
    ) -> anyhow::Result<commit::Settled> {
        let config = &self.spec.config;
        let mode = config.pipeline.replication_mode;
        // On the blocking pool rather than in place, so that a stop request need not wait for
        // the compilation to end (the process exits without it).
        let preparing = {
            let (config, cache_dir) = (config.clone(), self.spec.cache_dir.clone());
            tokio::task::spawn_blocking(move || transform::prepare(&config, cache_dir))
        };
        let prepared = tokio::select! {
            prepared = preparing => prepared.map_err(|e| {
                anyhow::anyhow!("internal error: preparing the transform failed: {e}")
            })??,
            _ = self.shutdown.stop.cancelled() => return Ok(commit::Settled::stopped()),
        };
        if let Some(t) = &prepared {
            tracing::info!(run = %self.info.run_id, transform = %t.info.name, version = %t.info.version, sha256 = %t.digest, cached = t.from_cache, "transform ready");
            let event = t.ready();
            *ready = Some(event.clone());
            self.emit(RunEvent::TransformReady(event));
        }

        let target = tokio::select! {
            opened = self.open_target() => opened?,
            // A second request: stop now, even with the target half-opened.
            _ = self.shutdown.abort.cancelled() => return Ok(commit::Settled::stopped()),
        };
        let source = if self.shutdown.stop.is_cancelled() {
            Ok(None)
        } else {
            self.open_source(&*target).await
        };
        let source = match source {
            Ok(Some(source)) => source,
            not_opened => {
                // The target may have staged something (a staging table): discard it.
                if let Err(abort) = target.abort().await {
                    tracing::warn!(run = %self.info.run_id, "target {}: rollback failed: {abort}", target.target_id());
                }
                return match not_opened {
                    Err(e) => Err(e),
                    Ok(_) => Ok(commit::Settled::stopped()),
                };
            }
        };
        tracing::info!(
            run = %self.info.run_id,
            source = %config.source_type,
            target = %config.target_type,
            target_id = %target.target_id(),
            "run started"
        );
        let pipeline = Pipeline {
            source,
            target,
            transform: prepared.map(|t| t.stage),
            max_buffered_batches: config.pipeline.max_buffered_batches,
            add_op_fields: config.add_op_fields(),
        };
        let sampling = self.sample_progress();
        let drained = pipeline
            .run(self.shutdown.clone(), Arc::clone(&self.metrics))
            .await;
        sampling.abort();
        let settle = commit::Settle {
            mode,
            allow_empty: config.pipeline.allow_empty,
            shutdown: &self.shutdown,
            progress: self.metrics.progress(),
            observers: &self.observers,
        };
        Ok(settle.settle(drained).await)
    }

    /// Open the target (a secret it names is read first).
    async fn open_target(&self) -> anyhow::Result<Box<dyn fastlane_connectors::Target>> {
        let config = &self.spec.config;
        let parsed = connect::target(config).await?;
        let context = TargetContext {
            replication_mode: config.pipeline.replication_mode,
            run_id: self.info.run_id.clone(),
        };
        parsed
            .open(context)
            .await
            .map_err(|e| anyhow::anyhow!("target {}: {e}", config.target_type))
    }

    /// Read where an INCREMENTAL run resumes, then open the source; `None` when a stop request
    /// came first.
    async fn open_source(
        &self,
        target: &dyn fastlane_connectors::Target,
    ) -> anyhow::Result<Option<Box<dyn fastlane_connectors::Source>>> {
        let config = &self.spec.config;
        let resume_after = match config.pipeline.replication_mode {
            ReplicationMode::Incremental => target.get_offset().await.map_err(|e| {
                anyhow::anyhow!(
                    "target {}: cannot read the stored offset: {e}",
                    target.target_id()
                )
            })?,
            ReplicationMode::FullTable => None,
        };
        if let Some(offset) = &resume_after {
            tracing::info!(run = %self.info.run_id, %offset, "INCREMENTAL: resuming after the target's largest key");
            self.emit(RunEvent::Resuming(offset.clone()));
        }
        let opening = async {
            let parsed = connect::source(config).await?;
            let context = SourceContext {
                replication_mode: config.pipeline.replication_mode,
                resume_after,
            };
            parsed
                .open(context)
                .await
                .map_err(|e| anyhow::anyhow!("source {}: {e}", config.source_type))
        };
        tokio::select! {
            opened = opening => opened.map(Some),
            _ = self.shutdown.stop.cancelled() => Ok(None),
        }
    }

    /// Emit a [`RunEvent::Progress`] as often as the observers ask until the returned task is
    /// aborted (never, if none asks).
    fn sample_progress(&self) -> tokio::task::JoinHandle<()> {
        let (observers, metrics) = (Arc::clone(&self.observers), Arc::clone(&self.metrics));
        let every = observers.sample_every();
        tokio::spawn(async move {
            let Some(every) = every else { return };
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                observers.emit(RunEvent::Progress(metrics.progress()));
            }
        })
    }
}
