//! Sources and targets for fastlane.
//!
//! A connector is one module holding its config struct (serde + schemars, unknown keys
//! rejected), its implementation and its tests, registered once in [`registry`].
//!
//! - [`Source`]: a stream of Arrow record batches.
//! - [`Destination`]: a configured target as a whole (its id, its stored offset, the atomic
//!   commit or rollback of a run), which opens one [`Target`] writer per target worker.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(any(feature = "mysql", feature = "influxdb"))]
pub(crate) mod decimal_text;
pub mod error;
#[cfg(feature = "file")]
pub mod file_format;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
/// Test fixtures for the crates that test against the real services (`scripts/services.sh`).
#[cfg(all(feature = "mysql", any(test, feature = "test-support")))]
pub mod test_support {
    pub use crate::mysql::test_server::{TestDb as MySqlTestDb, ALL_TYPES_DDL, ALL_TYPES_ROWS};
}
/// A TCP proxy that drops idle connections or cuts them all, for tests of long runs.
#[cfg(any(test, feature = "test-support"))]
pub mod test_proxy;
/// Fixtures for the tests against the AWS-compatible test server (`scripts/services.sh`).
#[cfg(all(feature = "aws", any(test, feature = "test-support")))]
pub mod aws_test_support {
    pub use crate::aws::test_server::{unique_name, TestAws};
}
/// Fixtures for the tests against the MongoDB-protocol test server (`scripts/services.sh`).
#[cfg(all(feature = "mongodb", any(test, feature = "test-support")))]
pub mod mongodb_test_support {
    pub use crate::source::mongodb::test_db::{oid, TestDb};
}
pub mod registry;
pub mod schema;
pub mod secrets;
mod section;
pub mod source;
pub mod target;
mod text;

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use error::{ConnectorError, Result};

/// Field metadata marking a source's key column (value `"true"`), so a target that creates its
/// table can make the same column its primary key without being told.
pub const KEY_METADATA: &str = "fastlane.key";

/// The column marked with [`KEY_METADATA`] in `schema`, if any.
pub fn marked_key(schema: &arrow::datatypes::Schema) -> Option<&str> {
    schema
        .fields()
        .iter()
        .find(|f| f.metadata().get(KEY_METADATA).map(String::as_str) == Some("true"))
        .map(|f| f.name().as_str())
}
pub use registry::{source_entry, target_entry, SourceEntry, TargetEntry, SOURCES, TARGETS};

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

/// What a destination is told when it is opened.
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

/// One target worker's writer. Batches reach it in source order when its
/// [`Destination::needs_order`] says so.
#[async_trait]
pub trait Target: Send {
    /// Write one batch (durably or into the run's staging area).
    async fn load(&mut self, batch: RecordBatch) -> Result<()>;
    /// No more batches for this worker: flush what is buffered.
    async fn finish(&mut self) -> Result<()>;
}

/// A configured target as a whole: opens writers and commits or rolls back a run.
///
/// Life of a run: `get_offset` (INCREMENTAL) → `writer(i)` for each worker → loads →
/// each writer's `finish` → `commit`; on any failure or interruption `abort` instead.
#[async_trait]
pub trait Destination: Send + Sync {
    /// Unique id of the destination (e.g. `db.table`, a file path); names the pipeline.
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
    async fn writer(&self, worker: usize) -> Result<Box<dyn Target>>;
    /// Every writer finished: make the run's data visible (atomically where possible).
    async fn commit(&self) -> Result<()>;
    /// The run failed or was interrupted: discard what the run staged; previous data stays.
    async fn abort(&self) -> Result<()>;
}
