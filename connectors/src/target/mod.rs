//! Targets: connectors that load record batches.

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "mysql")]
pub mod mysql;
