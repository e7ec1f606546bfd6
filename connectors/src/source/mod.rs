//! Sources: connectors that extract record batches.

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "generate")]
pub mod generate;
#[cfg(feature = "mysql")]
pub mod mysql;
