//! The `file` target's settings.

use crate::{ConnectorConfig, ReplicationMode};
use std::path::PathBuf;

use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::file::format::{check_parquet_only, parquet_properties, FileFormat, ParquetCompression};
use crate::{ConnectorError, Result};

/// Where the `file` target's config sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "target.file";
/// The placeholder in `path` replaced by each worker's index.
pub const WORKER_PLACEHOLDER: &str = "{worker}";

/// Writes a Parquet, CSV or JSON Lines file, replaced atomically when the run commits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "file target")]
pub struct Config {
    /// The output file. The run writes a hidden temporary file beside it and renames it onto
    /// `path` when the run succeeds: readers never see a partial file and a failed run leaves
    /// the previous file untouched. Missing parent directories are created. With
    /// `concurrency` > 1 it must contain `{worker}`, replaced by each worker's index (0, 1, …).
    #[schemars(length(min = 1))]
    pub path: String,
    /// `parquet`, `csv` or `jsonl`. Default: from the extension of `path` (`.parquet`, `.pq`;
    /// `.csv`; `.jsonl`, `.ndjson`, `.json`).
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Parquet only: the column compression, `zstd` (default), `snappy`, `lz4` or `none`.
    #[serde(default)]
    pub compression: Option<ParquetCompression>,
    /// Parquet only: the most rows in one row group (default 1048576). A row group is held in
    /// memory until it is written.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub row_group_size: Option<usize>,
    /// Writer workers, each writing its own file (see `path`).
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: usize,
}

fn default_concurrency() -> usize {
    1
}

/// Default rows per Parquet row group.
pub const DEFAULT_ROW_GROUP_SIZE: usize = 1_048_576;

/// How batches are encoded, checked and complete.
#[derive(Clone, Debug)]
pub(super) struct Encoding {
    pub format: FileFormat,
    /// Parquet writer settings (Parquet only).
    pub parquet: Option<WriterProperties>,
}

impl Config {
    /// Check the settings that serde cannot; errors name the key.
    pub(super) fn encoding(&self) -> Result<Encoding> {
        let key = |k: &str| format!("{SECTION}.{k}");
        let format = FileFormat::resolve(self.format, &self.path, SECTION)?;
        check_parquet_only(
            SECTION,
            format,
            &[
                ("compression", self.compression.is_some()),
                ("row_group_size", self.row_group_size.is_some()),
            ],
        )?;
        if self.row_group_size == Some(0) {
            return Err(ConnectorError::config(
                key("row_group_size"),
                "must be at least 1",
            ));
        }
        let parquet = (format == FileFormat::Parquet).then(|| {
            parquet_properties(
                self.compression,
                self.row_group_size.unwrap_or(DEFAULT_ROW_GROUP_SIZE),
            )
        });
        Ok(Encoding { format, parquet })
    }

    /// The final path of each worker's file.
    pub(super) fn worker_paths(&self) -> Result<Vec<PathBuf>> {
        let key = |k: &str| format!("{SECTION}.{k}");
        if self.concurrency == 0 {
            return Err(ConnectorError::config(
                key("concurrency"),
                "must be at least 1",
            ));
        }
        if self.concurrency > 1 && !self.path.contains(WORKER_PLACEHOLDER) {
            return Err(ConnectorError::config(
                key("path"),
                format!(
                    "with concurrency {} each worker writes its own file: put {WORKER_PLACEHOLDER} in \
                     the path (e.g. 'out/part-{WORKER_PLACEHOLDER}.parquet')",
                    self.concurrency
                ),
            ));
        }
        (0..self.concurrency)
            .map(|i| {
                let path = PathBuf::from(self.path.replace(WORKER_PLACEHOLDER, &i.to_string()));
                let names_file = path.file_name().is_some()
                    && !self.path.ends_with(['/', std::path::MAIN_SEPARATOR]);
                if names_file {
                    Ok(path)
                } else {
                    Err(ConnectorError::config(
                        key("path"),
                        format!("'{}' does not name a file", self.path),
                    ))
                }
            })
            .collect()
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str =
        "Write a Parquet, CSV or JSON Lines file, replaced atomically at the end of the run";

    fn id(&self) -> String {
        self.path.clone()
    }

    fn check_for(&self, _mode: ReplicationMode) -> Result<()> {
        self.encoding()?;
        self.worker_paths()?;
        Ok(())
    }
}
