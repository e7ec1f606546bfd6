//! The file formats the `file` source and target read and write.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{ConnectorError, Result};

/// A file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
// Inlined: a connector's schema holds no `$ref`, so it can be embedded in the pipeline's.
#[schemars(inline)]
pub enum FileFormat {
    /// Comma-separated values (RFC 4180), one header line by default.
    Csv,
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The format a file name's extension implies: `.csv`; `.jsonl`, `.ndjson`, `.json`;
    /// `.parquet`, `.pq` (case-insensitive).
    pub fn from_extension(path: &str) -> Option<Self> {
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" | "json" => Some(Self::Jsonl),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }

    /// The configured format, else the one `path`'s extension implies; `section` (e.g.
    /// `source.file`) names the config in the error.
    pub fn resolve(configured: Option<Self>, path: &str, section: &str) -> Result<Self> {
        configured.or_else(|| Self::from_extension(path)).ok_or_else(|| {
            ConnectorError::config(
                format!("{section}.format"),
                format!(
                    "cannot tell the format of '{path}' from its extension \
                     (.csv, .jsonl, .ndjson, .json, .parquet, .pq): set `format` to csv, jsonl or parquet"
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_decides_unless_configured() {
        assert_eq!(
            FileFormat::from_extension("data/*.PARQUET"),
            Some(FileFormat::Parquet)
        );
        assert_eq!(
            FileFormat::from_extension("out/part-{worker}.ndjson"),
            Some(FileFormat::Jsonl)
        );
        assert_eq!(FileFormat::from_extension("a.csv"), Some(FileFormat::Csv));
        assert_eq!(FileFormat::from_extension("a.txt"), None);
        assert_eq!(
            FileFormat::resolve(Some(FileFormat::Csv), "a.txt", "s").unwrap(),
            FileFormat::Csv
        );
        let err = FileFormat::resolve(None, "data/a.txt", "source.file").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("source.file.format: ") && text.contains("'data/a.txt'"),
            "{text}"
        );
    }
}
