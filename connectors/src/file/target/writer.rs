//! One target worker's writer: encodes batches into its temp file.

use std::fs::File;
use std::io::BufWriter;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;

use super::config::Encoding;
use super::{lock, FileState, WorkerFile};
use crate::file::format::{FileFormat, FormatWriter};
use crate::schema::difference;
use crate::{ConnectorError, Result, Writer};

/// Buffer between the encoders and the file.
const WRITE_BUFFER: usize = 1 << 20;

/// Writes one worker's file. The schema comes from the first batch; every later batch must
/// have the same columns. Encoding runs on tokio's blocking pool, the encoder moved in and out.
pub struct FileWriter {
    worker: usize,
    file: WorkerFile,
    encoding: Arc<Encoding>,
    states: Arc<Mutex<Vec<FileState>>>,
    schema: Option<SchemaRef>,
    /// `None` only while a write is in flight (or after one panicked).
    sink: Option<Sink>,
}

/// The temp file, before and after its encoder exists.
enum Sink {
    /// No batch yet, so no schema for an encoder.
    Pending(File),
    /// Encoding batches (boxed: an encoder is large, the other states are not).
    Open(Box<FormatWriter<BufWriter<File>>>),
    /// Finished.
    Closed,
}

impl FileWriter {
    pub(super) fn new(
        worker: usize,
        file: WorkerFile,
        handle: File,
        encoding: Arc<Encoding>,
        states: Arc<Mutex<Vec<FileState>>>,
    ) -> Self {
        Self {
            worker,
            file,
            encoding,
            states,
            schema: None,
            sink: Some(Sink::Pending(handle)),
        }
    }

    /// Run `work` on the sink on the blocking pool and put the sink back.
    async fn with_sink<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Sink) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut sink = self.sink.take().ok_or_else(|| {
            ConnectorError::Other(format!(
                "{}: a previous write failed",
                self.file.final_path.display()
            ))
        })?;
        let (sink, result) = tokio::task::spawn_blocking(move || {
            let result = work(&mut sink);
            (sink, result)
        })
        .await
        .map_err(|e| {
            ConnectorError::Other(format!(
                "{}: writing failed: {e}",
                self.file.final_path.display()
            ))
        })?;
        self.sink = Some(sink);
        result
    }
}

#[async_trait]
impl Writer for FileWriter {
    async fn load(&mut self, batch: RecordBatch) -> Result<()> {
        match &self.schema {
            Some(schema) => {
                if let Some(diff) = difference(schema, &batch.schema()) {
                    return Err(ConnectorError::Schema {
                        path: self.file.final_path.clone(),
                        message: format!("a batch's columns differ from the first batch's: {diff}"),
                    });
                }
            }
            None => self.schema = Some(batch.schema()),
        }
        let (encoding, file) = (self.encoding.clone(), self.file.clone());
        self.with_sink(move |sink| sink.write(&batch, &encoding, &file))
            .await
    }

    async fn finish(&mut self) -> Result<()> {
        let (encoding, file) = (self.encoding.clone(), self.file.clone());
        if let Some(state) = self
            .with_sink(move |sink| sink.close(&encoding, &file))
            .await?
        {
            lock(&self.states)[self.worker] = state;
        }
        Ok(())
    }
}

impl Sink {
    fn write(&mut self, batch: &RecordBatch, encoding: &Encoding, file: &WorkerFile) -> Result<()> {
        let context = format!("writing {}", file.final_path.display());
        if let Some(handle) = self.take_pending() {
            let out = BufWriter::with_capacity(WRITE_BUFFER, handle);
            *self = Sink::Open(Box::new(FormatWriter::new(
                encoding.format,
                batch.schema(),
                encoding.parquet.clone(),
                out,
                &context,
            )?));
        }
        match self {
            Sink::Open(w) => w.write(batch, &context),
            Sink::Pending(_) | Sink::Closed => Err(ConnectorError::Other(format!(
                "{}: written after finish",
                file.final_path.display()
            ))),
        }
    }

    /// The temp file, if no encoder has been made for it yet.
    fn take_pending(&mut self) -> Option<File> {
        match std::mem::replace(self, Sink::Closed) {
            Sink::Pending(handle) => Some(handle),
            other => {
                *self = other;
                None
            }
        }
    }

    /// Complete the temp file and flush it to disk; says what is left to commit (`None`:
    /// already closed).
    fn close(&mut self, encoding: &Encoding, file: &WorkerFile) -> Result<Option<FileState>> {
        let context = format!("writing {}", file.final_path.display());
        let out = match std::mem::replace(self, Sink::Closed) {
            Sink::Closed => return Ok(None),
            Sink::Pending(handle) if encoding.format == FileFormat::Parquet => {
                drop(handle);
                std::fs::remove_file(&file.temp_path)
                    .map_err(|e| ConnectorError::io(&file.temp_path, e))?;
                return Ok(Some(FileState::Empty));
            }
            Sink::Pending(handle) => BufWriter::new(handle),
            Sink::Open(w) => w.finish(&context)?,
        };
        let handle = out
            .into_inner()
            .map_err(|e| ConnectorError::io(&file.temp_path, e.into_error()))?;
        handle
            .sync_all()
            .map_err(|e| ConnectorError::io(&file.temp_path, e))?;
        Ok(Some(FileState::Written))
    }
}
