//! The file formats the `file` source and the file-writing targets (`file`, `s3`) read and
//! write, and [`FormatWriter`], the encoder those targets share.

use std::io::Write;
use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::json::writer::LineDelimited;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
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

/// Compression of Parquet column chunks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum ParquetCompression {
    /// Zstandard, level 1: small files, fast.
    #[default]
    Zstd,
    /// Snappy: the most widely supported codec.
    Snappy,
    /// LZ4 (the `LZ4_RAW` codec).
    Lz4,
    /// No compression.
    #[serde(rename = "none")]
    Uncompressed,
}

/// Parquet writer settings: the codec and the most rows in one row group.
pub fn parquet_properties(
    compression: Option<ParquetCompression>,
    row_group_size: usize,
) -> WriterProperties {
    let compression = match compression.unwrap_or_default() {
        ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
        ParquetCompression::Snappy => Compression::SNAPPY,
        ParquetCompression::Lz4 => Compression::LZ4_RAW,
        ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
    };
    WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(row_group_size))
        .build()
}

/// Parquet-only keys set for another format: an error naming the first such key.
pub fn check_parquet_only(section: &str, format: FileFormat, keys: &[(&str, bool)]) -> Result<()> {
    if format == FileFormat::Parquet {
        return Ok(());
    }
    match keys.iter().find(|(_, set)| *set) {
        Some((name, _)) => Err(ConnectorError::config(
            format!("{section}.{name}"),
            "applies to parquet output only",
        )),
        None => Ok(()),
    }
}

/// Encodes record batches of one schema into `W` in one of the formats. CSV gets a header line;
/// JSON Lines keeps null keys, so every line has every column in the same order.
pub enum FormatWriter<W: Write + Send> {
    /// Apache Parquet (row groups written to `W` as they fill).
    Parquet(ArrowWriter<W>),
    /// CSV with a header line.
    Csv(arrow::csv::Writer<W>),
    /// JSON Lines with explicit nulls.
    Jsonl(arrow::json::Writer<W, LineDelimited>),
}

impl<W: Write + Send> FormatWriter<W> {
    /// An encoder of `schema` into `out`; `parquet` is required for Parquet. `context` names the
    /// output in errors (`writing out.parquet`).
    pub fn new(
        format: FileFormat,
        schema: SchemaRef,
        parquet: Option<WriterProperties>,
        out: W,
        context: &str,
    ) -> Result<Self> {
        Ok(match format {
            FileFormat::Parquet => Self::Parquet(
                ArrowWriter::try_new(out, schema, parquet).map_err(|source| {
                    ConnectorError::Parquet {
                        context: context.to_string(),
                        source,
                    }
                })?,
            ),
            FileFormat::Csv => Self::Csv(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(out),
            ),
            FileFormat::Jsonl => Self::Jsonl(
                arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, LineDelimited>(out),
            ),
        })
    }

    /// Encode one batch.
    pub fn write(&mut self, batch: &RecordBatch, context: &str) -> Result<()> {
        let arrow = |source| ConnectorError::Arrow {
            context: context.to_string(),
            source,
        };
        match self {
            Self::Parquet(w) => w.write(batch).map_err(|source| ConnectorError::Parquet {
                context: context.to_string(),
                source,
            }),
            Self::Csv(w) => w.write(batch).map_err(arrow),
            Self::Jsonl(w) => w.write(batch).map_err(arrow),
        }
    }

    /// Bytes buffered inside the encoder, not yet written to `W` (a Parquet row group in
    /// progress).
    pub fn buffered_bytes(&self) -> usize {
        match self {
            Self::Parquet(w) => w.in_progress_size(),
            Self::Csv(_) | Self::Jsonl(_) => 0,
        }
    }

    /// Complete the encoding (the Parquet footer) and hand back the output.
    pub fn finish(self, context: &str) -> Result<W> {
        match self {
            Self::Parquet(w) => w.into_inner().map_err(|source| ConnectorError::Parquet {
                context: context.to_string(),
                source,
            }),
            Self::Csv(w) => Ok(w.into_inner()),
            Self::Jsonl(mut w) => {
                w.finish().map_err(|source| ConnectorError::Arrow {
                    context: context.to_string(),
                    source,
                })?;
                Ok(w.into_inner())
            }
        }
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
