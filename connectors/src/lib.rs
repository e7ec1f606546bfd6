//! Sources and targets for fastlane.
//!
//! A connector is one module (one folder per system: `mysql/` holds the MySQL source, the
//! MySQL target and what they share) with its config type, its implementation and its tests,
//! registered with one line in [`registry`]. See `connectors/README.md` for adding one.
//!
//! - [`Source`]: a stream of Arrow record batches.
//! - [`Writer`]: a configured target as a whole (its id, its stored offset, the atomic commit
//!   or rollback of a run), which opens one [`Writer`] per target worker.
//! - [`SourceConnector`] / [`TargetConnector`]: what a connector implements to be registered.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "bigquery")]
pub mod bigquery;
mod connector;
#[cfg(any(feature = "mysql", feature = "influxdb"))]
pub(crate) mod decimal_text;
pub mod error;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "firehose")]
pub mod firehose;
#[cfg(feature = "generate")]
pub mod generate;
#[cfg(feature = "influxdb")]
pub mod influxdb;
#[cfg(feature = "mongodb")]
pub mod mongodb;
#[cfg(feature = "mysql")]
pub mod mysql;
pub mod registry;
pub mod retry;
#[cfg(feature = "s3")]
pub mod s3;
pub mod schema;
pub mod secrets;
mod section;
#[cfg(test)]
mod test_util;
mod text;

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
    pub use crate::mongodb::test_db::{oid, TestDb};
}

pub use connector::{
    ConnectorConfig, Offset, ReplicationMode, Source, SourceConnector, SourceContext, Target,
    TargetConnector, TargetContext, Writer,
};
pub use error::{ConnectorError, Result};
pub use registry::{
    source_entry, target_entry, About, Entry, ParsedSource, ParsedTarget, SourceEntry, TargetEntry,
    SOURCES, TARGETS,
};
pub use secrets::SecretField;

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

/// Names row `row` (0-based) of batch `batch_number` (1-based) for a user: by the value of the column
/// the source marks as key, else by its position.
#[cfg(any(feature = "firehose", feature = "influxdb"))]
pub(crate) fn row_name(
    batch: &arrow::record_batch::RecordBatch,
    row: usize,
    batch_number: usize,
) -> String {
    use arrow::array::Array;
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let schema = batch.schema();
    if let Some(key) = marked_key(&schema) {
        if let Some(column) = batch.column_by_name(key) {
            let value = if column.is_null(row) {
                "null".to_string()
            } else {
                ArrayFormatter::try_new(column.as_ref(), &FormatOptions::new())
                    .and_then(|f| f.value(row).try_to_string())
                    .unwrap_or_else(|e| format!("<{e}>"))
            };
            return format!("the row with {key} = {value} (batch {batch_number})");
        }
    }
    format!("row {} of batch {batch_number}", row + 1)
}
