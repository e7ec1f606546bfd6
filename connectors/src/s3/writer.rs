//! One target worker's writer: encodes batches into objects and streams each object up as a
//! multipart upload, a part as soon as one is full. The uploads are left open: the destination
//! completes them all at commit (so no object is visible before the run succeeds) or aborts them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedPart;
use bytes::Bytes;
use tokio::task::JoinSet;

use super::keys::{content_type, object_key, partition};
use super::state::{larger, max_key};
use super::{lock, Shared, UploadState};
use crate::aws::call_failed;
use crate::aws::catalog::Conform;
use crate::file::format::FormatWriter;
use crate::schema::difference;
use crate::{marked_key, ConnectorError, Result, Writer};

/// S3's largest part number. Full parts are cut up to the one before it (the rest goes in the
/// last part, which may be larger), and an object is finished well before that.
const MAX_PARTS: i32 = 10_000;
/// An object with this many parts is finished after the batch being written.
const ROTATE_AT_PARTS: i32 = MAX_PARTS - 1_000;

/// The bytes an encoder has written and no part has taken yet.
#[derive(Clone, Default)]
struct PartBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for PartBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl PartBuffer {
    fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first `size` bytes, when that many are buffered.
    fn take_part(&self, size: usize) -> Option<Bytes> {
        let mut bytes = self.bytes();
        if bytes.len() < size {
            return None;
        }
        let rest = bytes.split_off(size);
        Some(Bytes::from(std::mem::replace(&mut *bytes, rest)))
    }

    /// Everything buffered.
    fn take_all(&self) -> Bytes {
        Bytes::from(std::mem::take(&mut *self.bytes()))
    }
}

/// An object being written: its encoder, its open multipart upload and its parts.
struct OpenObject {
    /// Partition folders (`col=v/…`), empty without partitioning.
    folders: String,
    key: String,
    upload_id: String,
    /// Index of its upload in the destination's table.
    upload: usize,
    /// `None` only while encoding runs on the blocking pool.
    encoder: Option<FormatWriter<PartBuffer>>,
    buffer: PartBuffer,
    rows: usize,
    next_part: i32,
    in_flight: JoinSet<Result<CompletedPart>>,
    done: Vec<CompletedPart>,
}

/// A worker's writer.
pub struct S3Writer {
    shared: Arc<Shared>,
    schema: Option<SchemaRef>,
    /// With a Glue table: how batches become the objects' columns (set by the first batch).
    conform: Option<Conform>,
    /// The column whose largest value is the offset (from the config or the source's key).
    key: Option<String>,
    /// Oldest first.
    open: Vec<OpenObject>,
}

impl S3Writer {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            schema: None,
            conform: None,
            key: None,
            open: Vec::new(),
        }
    }

    /// The first batch fixes the schema and the offset column.
    fn check_schema(&mut self, batch: &RecordBatch) -> Result<()> {
        let target = self.shared.target_id();
        match &self.schema {
            Some(schema) => match difference(schema, &batch.schema()) {
                Some(diff) => Err(ConnectorError::Other(format!(
                    "s3 target {target}: a batch's columns differ from the first batch's: {diff}"
                ))),
                None => Ok(()),
            },
            None => {
                let schema = batch.schema();
                // The offset is kept for INCREMENTAL runs and when `key` names a column (so a
                // FULL_TABLE run can be followed by INCREMENTAL ones).
                self.key = match (&self.shared.key, self.shared.incremental) {
                    (Some(key), _) => Some(key.clone()),
                    (None, true) => marked_key(&schema).map(str::to_string),
                    (None, false) => None,
                };
                if self.shared.incremental && self.key.is_none() {
                    return Err(ConnectorError::config(
                        "target.s3.key",
                        "an INCREMENTAL run records the largest key it wrote, and the source marks no \
                         key column: set `key`",
                    ));
                }
                self.schema = Some(schema);
                Ok(())
            }
        }
    }

    /// Start a multipart upload for a new object under `folders`.
    async fn open_object(&mut self, folders: String, schema: SchemaRef) -> Result<usize> {
        if self.open.len() >= self.shared.layout.max_open_objects {
            let oldest = self.open.remove(0);
            self.close(oldest).await?;
        }
        let layout = &self.shared.layout;
        let key = object_key(
            &layout.prefix,
            &folders,
            chrono::Utc::now(),
            layout.format,
            layout.micros_names,
        );
        let created = self
            .shared
            .client
            .create_multipart_upload()
            .bucket(&self.shared.bucket)
            .key(&key)
            .content_type(content_type(layout.format))
            .send()
            .await
            .map_err(|e| call_failed(format!("starting s3://{}/{key}", self.shared.bucket), &e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        if upload_id.is_empty() {
            return Err(ConnectorError::Other(format!(
                "starting s3://{}/{key}: the store returned no upload id",
                self.shared.bucket
            )));
        }
        let upload = self.shared.register(&key, &upload_id);
        let buffer = PartBuffer::default();
        let encoder = FormatWriter::new(
            layout.format,
            schema,
            layout.parquet.clone(),
            buffer.clone(),
            &self.shared.context(&key),
        )?;
        self.open.push(OpenObject {
            folders,
            key,
            upload_id,
            upload,
            encoder: Some(encoder),
            buffer,
            rows: 0,
            next_part: 1,
            in_flight: JoinSet::new(),
            done: Vec::new(),
        });
        Ok(self.open.len() - 1)
    }

    /// Write `rows` into the objects of `folders`, starting new objects as they fill.
    async fn write_rows(&mut self, folders: String, rows: RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < rows.num_rows() {
            let found = self.open.iter().position(|o| o.folders == folders);
            let index = match found {
                Some(i) => i,
                None => self.open_object(folders.clone(), rows.schema()).await?,
            };
            let room = self.shared.layout.rows_per_object - self.open[index].rows;
            let take = room.min(rows.num_rows() - offset);
            let slice = rows.slice(offset, take);
            offset += take;
            let shared = self.shared.clone();
            let object = &mut self.open[index];
            object.encode(&shared, slice).await?;
            object.ship_full_parts(&shared).await?;
            if object.rows >= shared.layout.rows_per_object || object.next_part >= ROTATE_AT_PARTS {
                let object = self.open.remove(index);
                self.close(object).await?;
            }
        }
        Ok(())
    }

    /// Finish an object: the encoder's last bytes become its last part, and once every part is
    /// up the upload is ready to complete at commit.
    async fn close(&mut self, mut object: OpenObject) -> Result<()> {
        let shared = self.shared.clone();
        let encoder = object.encoder.take().ok_or_else(|| {
            ConnectorError::Other(format!(
                "{}: a previous write failed",
                shared.context(&object.key)
            ))
        })?;
        let context = shared.context(&object.key);
        tokio::task::spawn_blocking(move || encoder.finish(&context).map(drop))
            .await
            .map_err(|e| {
                ConnectorError::Other(format!(
                    "{}: encoding failed: {e}",
                    shared.context(&object.key)
                ))
            })??;
        object.ship_full_parts(&shared).await?;
        let rest = object.buffer.take_all();
        if !rest.is_empty() || object.next_part == 1 {
            object.upload_part(&shared, rest);
        }
        while let Some(part) = object.in_flight.join_next().await {
            object.done.push(joined(&shared, &object.key, part)?);
        }
        object.done.sort_by_key(|p| p.part_number());
        shared.set_state(object.upload, UploadState::Ready(object.done));
        Ok(())
    }
}

impl OpenObject {
    /// Encode `rows` on the blocking pool (Parquet encoding is CPU work).
    async fn encode(&mut self, shared: &Shared, rows: RecordBatch) -> Result<()> {
        let mut encoder = self.encoder.take().ok_or_else(|| {
            ConnectorError::Other(format!(
                "{}: a previous write failed",
                shared.context(&self.key)
            ))
        })?;
        let count = rows.num_rows();
        let context = shared.context(&self.key);
        let (encoder, result) = tokio::task::spawn_blocking(move || {
            let result = encoder.write(&rows, &context);
            (encoder, result)
        })
        .await
        .map_err(|e| {
            ConnectorError::Other(format!(
                "{}: encoding failed: {e}",
                shared.context(&self.key)
            ))
        })?;
        self.encoder = Some(encoder);
        result?;
        self.rows += count;
        Ok(())
    }

    /// Upload every full part buffered, keeping at most `upload_concurrency` in flight.
    async fn ship_full_parts(&mut self, shared: &Shared) -> Result<()> {
        while self.next_part < MAX_PARTS {
            let Some(part) = self.buffer.take_part(shared.layout.part_size) else {
                break;
            };
            while self.in_flight.len() >= shared.layout.upload_concurrency {
                if let Some(done) = self.in_flight.join_next().await {
                    self.done.push(joined(shared, &self.key, done)?);
                }
            }
            self.upload_part(shared, part);
        }
        Ok(())
    }

    /// Start uploading the next part. The SDK retries a failed attempt (throttling, 5xx,
    /// timeouts, dropped connections) with the bytes it still holds.
    fn upload_part(&mut self, shared: &Shared, body: Bytes) {
        let number = self.next_part;
        self.next_part += 1;
        let request = shared
            .client
            .upload_part()
            .bucket(&shared.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .content_length(body.len() as i64)
            .body(ByteStream::from(body));
        let what = format!("uploading part {number} of {}", shared.url(&self.key));
        self.in_flight.spawn(async move {
            let uploaded = request.send().await.map_err(|e| call_failed(&what, &e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(str::to_string))
                .build())
        });
    }
}

/// The outcome of a part upload task.
fn joined(
    shared: &Shared,
    key: &str,
    outcome: std::result::Result<Result<CompletedPart>, tokio::task::JoinError>,
) -> Result<CompletedPart> {
    outcome.map_err(|e| {
        ConnectorError::Other(format!("{}: upload task failed: {e}", shared.url(key)))
    })?
}

#[async_trait]
impl Writer for S3Writer {
    async fn load(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.check_schema(&batch)?;
        let written = match &self.shared.catalog {
            Some(catalog) => {
                if self.conform.is_none() {
                    self.conform = Some(catalog.conform(&batch.schema()).await?);
                }
                match &self.conform {
                    Some(conform) => conform.apply(&batch)?,
                    None => batch.clone(),
                }
            }
            None => batch.clone(),
        };
        if let Some(key) = &self.key {
            let largest = max_key(&batch, key)?;
            let mut run = lock(&self.shared.run);
            run.max_key = larger(run.max_key.take(), largest);
        }
        for (folders, rows) in partition(&written, &self.shared.layout.partition_by)? {
            self.write_rows(folders, rows).await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> Result<()> {
        while !self.open.is_empty() {
            let object = self.open.remove(0);
            self.close(object).await?;
        }
        Ok(())
    }
}
