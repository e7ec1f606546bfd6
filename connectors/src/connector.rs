//! What a connector is: the data-path traits ([`Source`], [`Target`], [`Writer`]) and the typed
//! traits a connector implements to be registered ([`ConnectorConfig`], [`SourceConnector`],
//! [`TargetConnector`]).
//!
//! A connector's config is its own type (serde + schemars, unknown keys refused). The registry
//! parses a config section into it exactly once, runs its [`check_for`] (every check that needs
//! no server, so `fastlane validate` and `fastlane run` refuse the same configs), and hands the
//! typed config to the connector's `open`.
//!
//! [`check_for`]: ConnectorConfig::check_for

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::secrets::SecretField;
use crate::Result;

/// How a run treats the data already in the target (the original fastlane's modes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplicationMode {
    /// The target's content is replaced by the whole source, atomically at the end of the run.
    #[default]
    FullTable,
    /// The source resumes after the largest key already in the target.
    Incremental,
}

/// Largest key already stored in a target, where an INCREMENTAL run resumes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Offset {
    /// A signed integer key.
    Int(i64),
    /// An unsigned integer key too large for `i64`.
    UInt(u64),
    /// A string key.
    Text(String),
}

impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Offset::Int(v) => write!(f, "{v}"),
            Offset::UInt(v) => write!(f, "{v}"),
            Offset::Text(v) => write!(f, "{v:?}"),
        }
    }
}

/// What a source is told when it is opened.
#[derive(Clone, Debug, Default)]
pub struct SourceContext {
    /// The run's replication mode.
    pub replication_mode: ReplicationMode,
    /// For INCREMENTAL runs: resume strictly after this key.
    pub resume_after: Option<Offset>,
}

/// What a target is told when it is opened.
#[derive(Clone, Debug, Default)]
pub struct TargetContext {
    /// The run's replication mode.
    pub replication_mode: ReplicationMode,
    /// Unique id of this run (used to name staging objects).
    pub run_id: String,
}

/// A stream of record batches.
#[async_trait]
pub trait Source: Send {
    /// Next batch, or `None` when the source is exhausted.
    async fn extract(&mut self) -> Result<Option<RecordBatch>>;
}

/// A configured target as a whole: its id and stored offset, one [`Writer`] per target
/// worker, and the commit or rollback of a run.
///
/// Life of a run: `get_offset` (INCREMENTAL) → `writer(i)` for each worker → loads →
/// each writer's `finish` → `commit`; on any failure or interruption `abort` instead.
#[async_trait]
pub trait Target: Send + Sync {
    /// Unique id of the target (e.g. `db.table`, a file path); names the pipeline.
    fn target_id(&self) -> String;
    /// Number of target workers (the connector's `concurrency`).
    fn workers(&self) -> usize {
        1
    }
    /// Whether batches must arrive in source order (files, INCREMENTAL offsets).
    fn needs_order(&self) -> bool {
        true
    }
    /// Largest key already stored, for INCREMENTAL runs (None: empty or unsupported).
    async fn get_offset(&self) -> Result<Option<Offset>> {
        Ok(None)
    }
    /// Open the writer of target worker `worker` (0-based, `< workers()`).
    async fn writer(&self, worker: usize) -> Result<Box<dyn Writer>>;
    /// Every writer finished: make the run's data visible (atomically where possible).
    async fn commit(&self) -> Result<()>;
    /// The run failed or was interrupted: discard what the run staged; previous data stays.
    async fn abort(&self) -> Result<()>;
}

/// Refuse a writer index past the target's `concurrency` (`section`: `target.s3`).
#[cfg(any(feature = "s3", feature = "firehose", feature = "influxdb"))]
pub(crate) fn check_worker(section: &str, worker: usize, workers: usize) -> Result<()> {
    if worker < workers {
        return Ok(());
    }
    Err(crate::ConnectorError::Other(format!(
        "{section}: no worker {worker} (concurrency {workers})"
    )))
}

/// One target worker's writer. Batches reach it in source order when its target's
/// [`Target::needs_order`] says so.
#[async_trait]
pub trait Writer: Send {
    /// Write one batch (durably or into the run's staging area).
    async fn load(&mut self, batch: RecordBatch) -> Result<()>;
    /// No more batches for this worker: flush what is buffered.
    async fn finish(&mut self) -> Result<()>;
}

/// A connector's config: one section of the config file, parsed once by the registry (serde,
/// unknown keys refused; its doc comments are the descriptions users read in its schema) and
/// checked before anything connects.
pub trait ConnectorConfig: DeserializeOwned + JsonSchema + Clone + Send + Sync + 'static {
    /// One line for `fastlane connectors`.
    const DESCRIPTION: &'static str;
    /// The connection keys an AWS Secrets Manager `secret` may fill (see [`crate::secrets`]).
    const SECRET_FIELDS: &'static [SecretField] = &[];

    /// What the section points at, from the config alone: `db.table`, a path, a stream. A
    /// target's id names its pipeline, even when the target cannot be reached.
    fn id(&self) -> String;
    /// Check the settings for a run in `mode`, without connecting; errors name the key.
    fn check_for(&self, mode: ReplicationMode) -> Result<()>;
}

/// A source connector, opened from its config. Registered with one line in
/// [`crate::registry`].
#[async_trait]
pub trait SourceConnector: Source + Sized + 'static {
    /// The section's settings.
    type Config: ConnectorConfig;

    /// Connect and open the source.
    async fn open(config: Self::Config, context: SourceContext) -> Result<Self>;
}

/// A target connector, opened from its config. Registered with one line in
/// [`crate::registry`].
#[async_trait]
pub trait TargetConnector: Target + Sized + 'static {
    /// The section's settings.
    type Config: ConnectorConfig;

    /// Connect and open the target.
    async fn open(config: Self::Config, context: TargetContext) -> Result<Self>;
}
