//! Sources: connectors that extract record batches.

#[cfg(feature = "bigquery")]
pub mod bigquery;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "generate")]
pub mod generate;
#[cfg(feature = "mongodb")]
pub mod mongodb;
#[cfg(feature = "mysql")]
pub mod mysql;
