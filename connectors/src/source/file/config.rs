//! The `file` source's settings.

use serde::{Deserialize, Serialize};

use crate::file_format::FileFormat;
use crate::{ConnectorError, Result};

/// Where the `file` source's config sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "source.file";

/// Reads CSV, JSON Lines or Parquet files: one file or every file a glob pattern matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "file source")]
pub struct Config {
    /// The file to read, or a glob pattern such as `data/*.parquet`. Matched files are read in
    /// sorted order and must all have the same columns.
    pub path: String,
    /// `csv`, `jsonl` or `parquet`. Default: from the extension of `path` (`.csv`; `.jsonl`,
    /// `.ndjson`, `.json`; `.parquet`, `.pq`).
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Rows per record batch.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1))]
    pub batch_size: usize,
    /// CSV: the first line holds the column names. Without it columns are named `column_1`, …
    #[serde(default = "default_has_header")]
    pub has_header: bool,
    /// CSV: the field separator, one ASCII character.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// CSV and JSON Lines: rows read from each file to infer the column types.
    #[serde(default = "default_infer_rows")]
    #[schemars(range(min = 1))]
    pub infer_rows: usize,
}

fn default_batch_size() -> usize {
    65_536
}
fn default_has_header() -> bool {
    true
}
fn default_delimiter() -> char {
    ','
}
fn default_infer_rows() -> usize {
    1000
}

/// The checked settings the reader works with.
#[derive(Clone, Debug)]
pub(super) struct ReadOptions {
    pub format: FileFormat,
    pub batch_size: usize,
    pub has_header: bool,
    pub delimiter: u8,
    pub infer_rows: usize,
}

impl Config {
    /// Check the settings that serde cannot; errors name the key.
    pub(super) fn read_options(&self) -> Result<ReadOptions> {
        let key = |k: &str| format!("{SECTION}.{k}");
        if self.path.trim().is_empty() {
            return Err(ConnectorError::config(key("path"), "must not be empty"));
        }
        if self.batch_size == 0 {
            return Err(ConnectorError::config(
                key("batch_size"),
                "must be at least 1",
            ));
        }
        if self.infer_rows == 0 {
            return Err(ConnectorError::config(
                key("infer_rows"),
                "must be at least 1",
            ));
        }
        let delimiter = u8::try_from(self.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| {
                ConnectorError::config(
                    key("delimiter"),
                    format!("{:?} is not an ASCII character", self.delimiter),
                )
            })?;
        Ok(ReadOptions {
            format: FileFormat::resolve(self.format, &self.path, SECTION)?,
            batch_size: self.batch_size,
            has_header: self.has_header,
            delimiter,
            infer_rows: self.infer_rows,
        })
    }
}
