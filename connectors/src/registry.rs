//! The table of connectors: `--source`/`--target` names → constructors and config schemas.
//! Adding a connector is one module and one line here.

use std::future::Future;
use std::pin::Pin;

use crate::{Destination, ReplicationMode, Result, Source, SourceContext, TargetContext};

/// Checks a connector's config section for a run in a replication mode, as far as it can
/// without connecting: what `fastlane validate` reports, and the same check every run makes.
pub type CheckFn = fn(&serde_json::Value, ReplicationMode) -> Result<()>;

/// A boxed future returned by the constructors.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A source type: its name, its config schema and its constructor.
pub struct SourceEntry {
    /// The name used in `--source` and as the key of the `source` section.
    pub name: &'static str,
    /// One line for `fastlane connectors`.
    pub description: &'static str,
    /// JSON schema of the connector's config section.
    pub config_schema: fn() -> schemars::Schema,
    /// Check the section without connecting (every key, and the run's mode).
    pub check: CheckFn,
    /// Open the source from its (schema-validated) config section.
    #[allow(clippy::type_complexity)]
    // spelled out so the constructor's shape reads in one place
    pub open: fn(serde_json::Value, SourceContext) -> BoxFuture<Result<Box<dyn Source>>>,
}

/// A target type: its name, its config schema and its constructor.
pub struct TargetEntry {
    /// The name used in `--target` and as the key of the `target` section.
    pub name: &'static str,
    /// One line for `fastlane connectors`.
    pub description: &'static str,
    /// JSON schema of the connector's config section.
    pub config_schema: fn() -> schemars::Schema,
    /// Check the section without connecting (every key, and the run's mode).
    pub check: CheckFn,
    /// Open the destination from its (schema-validated) config section.
    #[allow(clippy::type_complexity)]
    // spelled out so the constructor's shape reads in one place
    pub open: fn(serde_json::Value, TargetContext) -> BoxFuture<Result<Box<dyn Destination>>>,
    /// The destination's unique id (e.g. `db.table`, a path) from its config alone, without
    /// connecting: it names the pipeline even when the target cannot be reached.
    pub target_id: fn(&serde_json::Value) -> Result<String>,
}

impl SourceEntry {
    /// The config schema users write against: the connector's own, plus the `secret` keys
    /// every section accepts.
    pub fn schema(&self) -> schemars::Schema {
        crate::secrets::with_secret_keys((self.config_schema)())
    }
}

impl TargetEntry {
    /// The config schema users write against: the connector's own, plus the `secret` keys
    /// every section accepts.
    pub fn schema(&self) -> schemars::Schema {
        crate::secrets::with_secret_keys((self.config_schema)())
    }
}

/// Every source compiled into this build.
pub static SOURCES: &[SourceEntry] = &[
    #[cfg(feature = "bigquery")]
    crate::source::bigquery::ENTRY,
    #[cfg(feature = "file")]
    crate::source::file::ENTRY,
    #[cfg(feature = "generate")]
    crate::source::generate::ENTRY,
    #[cfg(feature = "mongodb")]
    crate::source::mongodb::ENTRY,
    #[cfg(feature = "mysql")]
    crate::source::mysql::ENTRY,
];

/// Every target compiled into this build.
pub static TARGETS: &[TargetEntry] = &[
    #[cfg(feature = "file")]
    crate::target::file::ENTRY,
    #[cfg(feature = "firehose")]
    crate::target::firehose::ENTRY,
    #[cfg(feature = "influxdb")]
    crate::target::influxdb::ENTRY,
    #[cfg(feature = "mysql")]
    crate::target::mysql::ENTRY,
    #[cfg(feature = "s3")]
    crate::target::s3::ENTRY,
];

/// The source registered under `name`.
pub fn source_entry(name: &str) -> Option<&'static SourceEntry> {
    SOURCES.iter().find(|e| e.name == name)
}

/// The target registered under `name`.
pub fn target_entry(name: &str) -> Option<&'static TargetEntry> {
    TARGETS.iter().find(|e| e.name == name)
}
