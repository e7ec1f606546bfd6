//! The `file` source: CSV, JSON Lines or Parquet files, one file or a glob of them.
//!
//! Opening resolves the glob and reads every file's schema (Parquet's footer, or the first
//! `infer_rows` rows of CSV/JSON Lines), so a missing file or a schema mismatch fails the run
//! before any batch moves. Decoding is blocking I/O and CPU work: each `extract` runs on
//! tokio's blocking pool with the reader moved in and back out, never on the async executor.

mod config;
mod discovery;
mod exact;
mod jsonl;
#[cfg(test)]
mod tests;
mod typed;

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub use config::{Config, DeclaredType};
use config::{ReadOptions, SECTION};

use crate::file::format::FileFormat;
use crate::{ConnectorError, Result, Source, SourceConnector, SourceContext};

#[async_trait]
impl SourceConnector for FileSource {
    type Config = Config;

    /// Check the config, find the files and their shared schema.
    async fn open(config: Config, context: SourceContext) -> Result<Self> {
        if let Some(offset) = context.resume_after {
            return Err(ConnectorError::config(
                "replication_mode",
                format!(
                    "the file source cannot resume after a key (INCREMENTAL run at offset {offset}); \
                     use FULL_TABLE"
                ),
            ));
        }
        let opts = config.read_options()?;
        let path = config.path;
        let reader = tokio::task::spawn_blocking(move || -> Result<FileReader> {
            let files = discovery::matching_files(&path)?;
            let schema = discovery::run_schema(&files, &opts)?;
            Ok(FileReader {
                opts,
                schema,
                pending: files.into(),
                current: None,
            })
        })
        .await
        .map_err(|e| ConnectorError::Other(format!("file source: opening failed: {e}")))??;
        Ok(Self {
            schema: reader.schema.clone(),
            reader: Some(reader),
            emitted: false,
            exhausted: false,
        })
    }
}

/// Reads the matched files one after the other, `batch_size` rows per batch. Every batch
/// carries the run's schema (the shared schema of all files).
pub struct FileSource {
    schema: SchemaRef,
    /// `None` only while a read is in flight or after a read thread died.
    reader: Option<FileReader>,
    emitted: bool,
    exhausted: bool,
}

impl FileSource {
    /// The schema every batch carries.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

#[async_trait]
impl Source for FileSource {
    async fn extract(&mut self) -> Result<Option<RecordBatch>> {
        if self.exhausted {
            return Ok(None);
        }
        let mut reader = self
            .reader
            .take()
            .ok_or_else(|| ConnectorError::Other("file source: a previous read failed".into()))?;
        let (reader, batch) = tokio::task::spawn_blocking(move || {
            let batch = reader.next_batch();
            (reader, batch)
        })
        .await
        .map_err(|e| ConnectorError::Other(format!("file source: reading failed: {e}")))?;
        self.reader = Some(reader);
        match batch? {
            Some(batch) => {
                self.emitted = true;
                Ok(Some(batch))
            }
            None => {
                self.exhausted = true;
                // Files without a single row still tell the target their columns, so it can
                // write a typed empty file.
                if self.emitted {
                    Ok(None)
                } else {
                    self.emitted = true;
                    Ok(Some(RecordBatch::new_empty(self.schema.clone())))
                }
            }
        }
    }
}

type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// A CSV batch read as text, converted to the run's types value by value: a value its
/// column's type cannot hold exactly fails, naming the line, column and value.
fn exact_columns(
    schema: &SchemaRef,
    opts: &ReadOptions,
    path: &std::path::Path,
    rows_before: usize,
    batch: &RecordBatch,
) -> Result<Vec<ArrayRef>> {
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            typed::convert(column.as_string::<i32>(), field.data_type()).map_err(|bad| {
                let line = rows_before + bad.row + 1 + usize::from(opts.has_header);
                ConnectorError::Other(format!(
                    "{}: line {line}: column `{}`: {} is not {} as written (the type was inferred from the first {} rows; declare the column in `{SECTION}.types`, e.g. \"string\", to read it as text)",
                    path.display(),
                    field.name(),
                    bad.value,
                    field.data_type(),
                    opts.infer_rows,
                ))
            })
        })
        .collect()
}

/// The blocking half: the files still to read and the one being read.
struct FileReader {
    opts: ReadOptions,
    schema: SchemaRef,
    pending: VecDeque<PathBuf>,
    current: Option<OpenFile>,
}

struct OpenFile {
    path: PathBuf,
    batches: BatchIter,
    /// Rows read from this file so far (names the place of a decode error).
    rows: usize,
}

impl FileReader {
    /// The next non-empty batch across the files, or `None` after the last file.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            let file = match &mut self.current {
                Some(file) => file,
                None => match self.pending.pop_front() {
                    Some(path) => self.current.insert(self.open_file(path)?),
                    None => return Ok(None),
                },
            };
            match file.batches.next() {
                Some(Ok(batch)) if batch.num_rows() == 0 => continue,
                Some(Ok(batch)) => {
                    let columns = match self.opts.format {
                        FileFormat::Csv => {
                            exact_columns(&self.schema, &self.opts, &file.path, file.rows, &batch)?
                        }
                        FileFormat::Jsonl | FileFormat::Parquet => batch.columns().to_vec(),
                    };
                    file.rows += batch.num_rows();
                    // Re-stamp with the run schema: files may differ in schema metadata, and
                    // CSV/JSON Lines files were read with the widened schema already.
                    let batch =
                        RecordBatch::try_new(self.schema.clone(), columns).map_err(|source| {
                            ConnectorError::Arrow {
                                context: format!("{}", file.path.display()),
                                source,
                            }
                        })?;
                    return Ok(Some(batch));
                }
                Some(Err(source)) => {
                    if self.opts.format != FileFormat::Jsonl {
                        return Err(ConnectorError::Arrow {
                            context: format!(
                                "{}: reading after row {}",
                                file.path.display(),
                                file.rows
                            ),
                            source,
                        });
                    }
                    let line = jsonl::failing_line(&file.path, file.rows, &self.schema);
                    let at = line.map_or_else(
                        || format!("after record {}", file.rows),
                        |line| format!("line {line}"),
                    );
                    let message = source.to_string();
                    if message.contains("missing from schema") {
                        // A key first seen after the inference sample: never dropped.
                        return Err(ConnectorError::Other(format!(
                            "{}: {at}: {} (a key that none of the first {} lines has: the columns were inferred from them; raise `{SECTION}.infer_rows` past that line so the key becomes a column)",
                            file.path.display(),
                            message.trim_start_matches("Json error: "),
                            self.opts.infer_rows
                        )));
                    }
                    return Err(ConnectorError::Arrow {
                        context: format!("{}: {at}", file.path.display()),
                        source,
                    });
                }
                None => self.current = None,
            }
        }
    }

    fn open_file(&self, path: PathBuf) -> Result<OpenFile> {
        let file = File::open(&path).map_err(|e| ConnectorError::io(&path, e))?;
        let arrow_err = |source| ConnectorError::Arrow {
            context: format!("{}", path.display()),
            source,
        };
        let batches: BatchIter = match self.opts.format {
            FileFormat::Parquet => {
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.with_batch_size(self.opts.batch_size).build())
                    .map_err(|source| ConnectorError::Parquet {
                        context: format!("{}", path.display()),
                        source,
                    })?;
                Box::new(reader)
            }
            FileFormat::Csv => Box::new(
                arrow::csv::ReaderBuilder::new(discovery::as_text(&self.schema))
                    .with_header(self.opts.has_header)
                    .with_delimiter(self.opts.delimiter)
                    .with_batch_size(self.opts.batch_size)
                    .build(file)
                    .map_err(arrow_err)?,
            ),
            FileFormat::Jsonl => Box::new(
                jsonl::reader(self.schema.clone())
                    .with_batch_size(self.opts.batch_size)
                    .build(BufReader::new(file))
                    .map_err(arrow_err)?,
            ),
        };
        Ok(OpenFile {
            path,
            batches,
            rows: 0,
        })
    }
}
