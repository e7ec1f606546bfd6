//! Targets: connectors that load record batches.

#[cfg(feature = "file")]
pub mod file;
