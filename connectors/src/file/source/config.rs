//! The `file` source's settings.

use crate::{ConnectorConfig, ReplicationMode};
use std::collections::BTreeMap;

use arrow::datatypes::{DataType, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::file::format::FileFormat;
use crate::{ConnectorError, Result};

/// Where the `file` source's config sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "source.file";
/// Most rows in a batch or an inference sample.
const MAX_ROWS: usize = 10_000_000;

/// Reads CSV, JSON Lines or Parquet files: one file or every file a glob pattern matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "file source")]
pub struct Config {
    /// The file to read, or a glob pattern such as `data/*.parquet`. Matched files are read in
    /// sorted order and must all have the same columns.
    #[schemars(length(min = 1))]
    pub path: String,
    /// `csv`, `jsonl` or `parquet`. Default: from the extension of `path` (`.csv`; `.jsonl`,
    /// `.ndjson`, `.json`; `.parquet`, `.pq`).
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Rows per record batch.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub batch_size: usize,
    /// CSV: the first line holds the column names. Without it columns are named `column_1`, …
    #[serde(default = "default_has_header")]
    pub has_header: bool,
    /// CSV: the field separator, one ASCII character.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// CSV and JSON Lines: rows read from each file to infer the column types. Inference never
    /// changes a value: a column is a number, date or timestamp only when every sampled value
    /// reads back exactly as written (`00042` stays text); a later value that does not fit
    /// fails the run naming the file, line and column (declare its type in `types`).
    #[serde(default = "default_infer_rows")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub infer_rows: usize,
    /// CSV and JSON Lines: column types declared instead of inferred, e.g.
    /// `{"zip": "string", "amount": "float64"}`. A value the declared type cannot hold exactly
    /// fails the run naming the file, line and column.
    #[serde(default)]
    pub types: BTreeMap<String, DeclaredType>,
}

/// A column type a user can declare for a CSV or JSON Lines column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum DeclaredType {
    /// Text, exactly as written (numbers too).
    String,
    /// Signed 64-bit integers.
    Int64,
    /// Unsigned 64-bit integers.
    Uint64,
    /// 64-bit floats (only values an f64 holds exactly as written).
    Float64,
    /// `true` / `false`.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` without a zone, in microseconds.
    Timestamp,
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]` with `Z` or an offset, as an instant in UTC (microseconds).
    TimestampUtc,
}

impl DeclaredType {
    /// The Arrow type of a declared column.
    pub(super) fn data_type(self) -> DataType {
        match self {
            Self::String => DataType::Utf8,
            Self::Int64 => DataType::Int64,
            Self::Uint64 => DataType::UInt64,
            Self::Float64 => DataType::Float64,
            Self::Boolean => DataType::Boolean,
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::TimestampUtc => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
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
    pub types: BTreeMap<String, DataType>,
}

impl Config {
    /// Check the settings that serde cannot; errors name the key.
    pub(super) fn read_options(&self) -> Result<ReadOptions> {
        let key = |k: &str| format!("{SECTION}.{k}");
        if self.path.trim().is_empty() {
            return Err(ConnectorError::config(key("path"), "must not be empty"));
        }
        if !(1..=MAX_ROWS).contains(&self.batch_size) {
            return Err(ConnectorError::config(
                key("batch_size"),
                format!("must be between 1 and {MAX_ROWS}"),
            ));
        }
        if !(1..=MAX_ROWS).contains(&self.infer_rows) {
            return Err(ConnectorError::config(
                key("infer_rows"),
                format!("must be between 1 and {MAX_ROWS}"),
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
        let format = FileFormat::resolve(self.format, &self.path, SECTION)?;
        if format == FileFormat::Parquet && !self.types.is_empty() {
            return Err(ConnectorError::config(
                key("types"),
                "applies to csv and jsonl files only (Parquet files carry their own types)",
            ));
        }
        if let Some(name) = self.types.keys().find(|name| name.is_empty()) {
            return Err(ConnectorError::config(
                key("types"),
                format!("{name:?}: a column name must not be empty"),
            ));
        }
        Ok(ReadOptions {
            format,
            batch_size: self.batch_size,
            has_header: self.has_header,
            delimiter,
            infer_rows: self.infer_rows,
            types: self
                .types
                .iter()
                .map(|(name, t)| (name.clone(), t.data_type()))
                .collect(),
        })
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str =
        "Read CSV, JSON Lines or Parquet files (one path or a glob pattern)";

    fn id(&self) -> String {
        self.path.clone()
    }

    fn check_for(&self, _mode: ReplicationMode) -> Result<()> {
        self.read_options().map(|_| ())
    }
}
