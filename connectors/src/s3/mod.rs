//! The `s3` target: Parquet (default), JSON Lines or CSV objects in an S3 bucket or any
//! S3-compatible store.
//!
//! - Each worker streams its objects up as multipart uploads, a part as soon as the encoder
//!   has produced one, so an object is never held whole in memory. A failed part is retried by
//!   the SDK.
//! - No object is visible before the run commits: the uploads are completed only then. A failed
//!   or interrupted run aborts every upload it started, leaving no parts behind.
//! - Keys: `{prefix}/{YYYY}/{MM}/{DD}/{timestamp}-{uuid}.{ext}`, or Hive-style partition folders
//!   (`{prefix}/{col}={value}/…`) with `partition_by`.
//! - The state object `{prefix}/_fastlane_state.json` records the largest key written (where an
//!   INCREMENTAL run resumes) and the objects fastlane wrote under the prefix. A FULL_TABLE run
//!   replaces those objects: its own are completed first, then the previous ones deleted (a
//!   reader listing the prefix in between sees both; S3 has no atomic swap of many objects).
//!   Objects fastlane did not write are never touched.
//! - Objects of a process killed outright stay as incomplete multipart uploads, invisible to
//!   readers; a lifecycle rule (`AbortIncompleteMultipartUpload`) on the bucket removes them.
//!   A process killed while committing leaves completed objects the state lists as `pending`:
//!   the next commit deletes them.

mod config;
mod keys;
mod state;
// Against the real server `scripts/services.sh` starts: `--features services`.
#[cfg(all(test, feature = "services"))]
mod glue_tests;
#[cfg(all(test, feature = "services"))]
mod service_tests;
mod writer;

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use futures_util::stream::{self, StreamExt};

pub use config::{CatalogConfig, Config, GlueTableConfig, DEFAULT_ROW_GROUP_SIZE};
use config::{Destination, Layout, SECTION};
use keys::{under_prefix, STATE_NAME};
use state::{larger, State, VERSION};
pub use writer::S3Writer;

use crate::aws::catalog::{Catalog, CatalogTable, Endpoints, Registration};
use crate::aws::glue::Glue;
use crate::aws::json_api::{JsonApi, Service};
use crate::aws::{call_failed, describe};
use crate::{
    ConnectorError, Offset, ReplicationMode, Result, Target, TargetConnector, TargetContext, Writer,
};

#[async_trait]
impl TargetConnector for S3Target {
    type Config = Config;

    /// Check the config, build the client and make sure the bucket can be reached.
    async fn open(config: Config, context: TargetContext) -> Result<Self> {
        let mut layout = config.layout()?;
        let connection = config.connection()?;
        let sdk = connection.sdk_config().await?;
        let path_style = config
            .force_path_style
            .unwrap_or_else(|| connection.overrides_endpoint());
        // Checksums only where S3 requires them: S3-compatible stores do not all accept the
        // SDK's default trailing checksums.
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        let client = Client::from_conf(s3);
        let full_table = context.replication_mode != ReplicationMode::Incremental;
        let (bucket, catalog) = match config.destination()? {
            Destination::Bucket { bucket, prefix } => {
                let catalog = match &config.catalog {
                    Some(catalog) => {
                        let glue = glue_client(&config).await?;
                        Some(Catalog::Register(Box::new(
                            registration(
                                glue,
                                &catalog.glue,
                                &bucket,
                                &prefix,
                                &layout,
                                full_table,
                            )
                            .await?,
                        )))
                    }
                    None => None,
                };
                (bucket, catalog)
            }
            Destination::Glue(g) => {
                let sdk = config.catalog_connection()?.sdk_config().await?;
                let endpoints = Endpoints {
                    glue: config.glue_endpoint_url.as_deref(),
                    athena: config.athena_endpoint_url.as_deref(),
                };
                let table =
                    CatalogTable::open("s3 target", &g, &sdk, endpoints, full_table, true).await?;
                let (bucket, prefix) = table.table.bucket_and_prefix()?;
                layout.prefix = prefix;
                (bucket, Some(Catalog::Table(Box::new(table))))
            }
        };
        if let Err(e) = client.head_bucket().bucket(&bucket).send().await {
            let status = e.raw_response().map(|r| r.status().as_u16());
            let cause = match status {
                Some(404) => "it does not exist".to_string(),
                Some(403) => {
                    "access denied (check the credentials and the bucket policy)".to_string()
                }
                Some(301) => "it is in another region (set `region`)".to_string(),
                _ => describe(&e),
            };
            return Err(ConnectorError::Other(format!(
                "{SECTION}: cannot use bucket '{bucket}': {cause}"
            )));
        }
        let target = Self {
            workers: config.concurrency,
            run_id: context.run_id.clone(),
            shared: Arc::new(Shared {
                client,
                bucket,
                layout,
                key: config.key.clone().or(config.pk.clone()),
                incremental: !full_table,
                catalog,
                run: Mutex::new(RunState::default()),
            }),
        };
        if let Some(Catalog::Table(table)) = &target.shared.catalog {
            if !full_table {
                table.known_version(target.read_state().await?.table_version);
            }
        }
        Ok(target)
    }
}

/// A client of Glue or Athena with the target's region and credentials.
async fn glue_client(config: &Config) -> Result<JsonApi> {
    let sdk = config.catalog_connection()?.sdk_config().await?;
    JsonApi::new(Service::Glue, &sdk, config.glue_endpoint_url.as_deref())
}

/// `catalog.glue`: the table as it is now, which must describe this target's objects.
async fn registration(
    api: JsonApi,
    table: &GlueTableConfig,
    bucket: &str,
    prefix: &str,
    layout: &Layout,
    full_table: bool,
) -> Result<Registration> {
    let glue = Glue::new(api);
    let location = format!("s3://{}/", under_prefix(bucket, prefix));
    let existing = glue.get_table(&table.database, &table.table).await?;
    if let Some(existing) = &existing {
        if existing.location.trim_end_matches('/') != location.trim_end_matches('/') {
            return Err(ConnectorError::Other(format!(
                "{SECTION}.catalog.glue: the Glue table {} describes {}, not this target's {location}",
                existing.qualified(),
                existing.location
            )));
        }
    }
    Ok(Registration {
        glue,
        database: table.database.clone(),
        name: table.table.clone(),
        location,
        partition_by: layout.partition_by.clone(),
        full_table,
        existing,
        columns: Mutex::new(None),
    })
}

/// Completions and deletions sent at once at commit.
const COMMIT_CONCURRENCY: usize = 8;
/// Keys per DeleteObjects call (S3's limit).
const DELETE_BATCH: usize = 1000;

/// Where a multipart upload stands.
#[derive(Clone, Debug)]
pub(crate) enum UploadState {
    /// Its writer is still adding parts.
    Writing,
    /// Every part is up; completed at commit.
    Ready(Vec<CompletedPart>),
    /// Completed: the object is visible.
    Completed,
    /// Aborted: its parts are gone.
    Aborted,
}

/// One multipart upload of this run.
#[derive(Clone, Debug)]
pub(crate) struct Upload {
    key: String,
    upload_id: String,
    state: UploadState,
}

/// What the writers of a run share with the destination.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    uploads: Vec<Upload>,
    /// Largest key loaded by any writer.
    max_key: Option<Offset>,
}

/// The client, the layout and the run's uploads, shared by the destination and its writers.
pub(crate) struct Shared {
    client: Client,
    bucket: String,
    layout: Layout,
    /// The configured offset column.
    key: Option<String>,
    incremental: bool,
    /// The Glue table the objects belong to, if any.
    catalog: Option<Catalog>,
    run: Mutex<RunState>,
}

impl Shared {
    fn target_id(&self) -> String {
        under_prefix(&self.bucket, &self.layout.prefix)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn context(&self, key: &str) -> String {
        format!("writing {}", self.url(key))
    }

    /// Record a new upload; returns its index.
    fn register(&self, key: &str, upload_id: &str) -> usize {
        let mut run = lock(&self.run);
        run.uploads.push(Upload {
            key: key.to_string(),
            upload_id: upload_id.to_string(),
            state: UploadState::Writing,
        });
        run.uploads.len() - 1
    }

    fn set_state(&self, upload: usize, state: UploadState) {
        if let Some(u) = lock(&self.run).uploads.get_mut(upload) {
            u.state = state;
        }
    }
}

/// Lock shared run data; a panic elsewhere while holding it leaves plain data, still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The configured bucket and prefix of a run.
pub struct S3Target {
    shared: Arc<Shared>,
    workers: usize,
    run_id: String,
}

impl S3Target {
    fn state_key(&self) -> String {
        under_prefix(&self.shared.layout.prefix, STATE_NAME)
    }

    /// The state object, or the empty state when there is none yet.
    async fn read_state(&self) -> Result<State> {
        let key = self.state_key();
        let what = format!("reading {}", self.shared.url(&key));
        let object = match self
            .shared
            .client
            .get_object()
            .bucket(&self.shared.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Ok(State::default())
            }
            Err(e) => return Err(call_failed(what, &e)),
        };
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| ConnectorError::Other(format!("{what}: {e}")))?
            .into_bytes();
        serde_json::from_slice(&body).map_err(|e| {
            ConnectorError::Other(format!(
                "{what}: not a fastlane state object ({e}); move it away to start over"
            ))
        })
    }

    async fn write_state(&self, state: &State) -> Result<()> {
        let key = self.state_key();
        let body = serde_json::to_vec_pretty(state)
            .map_err(|e| ConnectorError::Other(format!("encoding the state: {e}")))?;
        self.shared
            .client
            .put_object()
            .bucket(&self.shared.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| call_failed(format!("writing {}", self.shared.url(&key)), &e))?;
        Ok(())
    }

    /// Complete the uploads; returns the keys now visible. Every completion is awaited, even
    /// after one failed, so the caller knows what may have become visible.
    async fn complete(
        &self,
        ready: Vec<(usize, Upload, Vec<CompletedPart>)>,
    ) -> Result<Vec<String>> {
        let shared = &self.shared;
        let outcomes: Vec<Result<String>> = stream::iter(ready)
            .map(|(index, upload, parts)| async move {
                shared
                    .client
                    .complete_multipart_upload()
                    .bucket(&shared.bucket)
                    .key(&upload.key)
                    .upload_id(&upload.upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        call_failed(format!("completing {}", shared.url(&upload.key)), &e)
                    })?;
                shared.set_state(index, UploadState::Completed);
                Ok(upload.key)
            })
            .buffer_unordered(COMMIT_CONCURRENCY)
            .collect()
            .await;
        outcomes.into_iter().collect()
    }

    /// Delete `keys`; returns the ones that could not be deleted.
    async fn delete(&self, keys: &[String]) -> Vec<String> {
        let mut failed = Vec::new();
        for chunk in keys.chunks(DELETE_BATCH) {
            let objects: Vec<ObjectIdentifier> = chunk
                .iter()
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            let request = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build();
            let outcome = match request {
                Ok(delete) => self
                    .shared
                    .client
                    .delete_objects()
                    .bucket(&self.shared.bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|e| describe(&e)),
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(out) => failed.extend(
                    out.errors()
                        .iter()
                        .filter_map(|e| e.key().map(str::to_string)),
                ),
                Err(cause) => {
                    tracing::warn!(bucket = %self.shared.bucket, "deleting replaced objects failed: {cause}");
                    failed.extend(chunk.iter().cloned());
                }
            }
        }
        failed
    }
}

#[async_trait]
impl Target for S3Target {
    fn target_id(&self) -> String {
        self.shared.target_id()
    }

    fn workers(&self) -> usize {
        self.workers
    }

    /// Objects are independent and the offset is a maximum: any order will do.
    fn needs_order(&self) -> bool {
        false
    }

    async fn get_offset(&self) -> Result<Option<Offset>> {
        let recorded = self.read_state().await?.offset;
        if let Some(Catalog::Table(table)) = &self.shared.catalog {
            if table.has_view_offset() {
                // The view's, or where this target's own committed runs got to (larger once
                // this run has committed and the view has not caught up).
                return Ok(larger(table.offset().await?, recorded));
            }
        }
        Ok(recorded)
    }

    async fn writer(&self, worker: usize) -> Result<Box<dyn Writer>> {
        crate::connector::check_worker(SECTION, worker, self.workers)?;
        Ok(Box::new(S3Writer::new(self.shared.clone())))
    }

    async fn commit(&self) -> Result<()> {
        let (ready, max_key) = {
            let run = lock(&self.shared.run);
            if let Some(u) = run
                .uploads
                .iter()
                .find(|u| matches!(u.state, UploadState::Writing))
            {
                return Err(ConnectorError::Other(format!(
                    "s3 target: {} is still being written; not committing",
                    self.shared.url(&u.key)
                )));
            }
            let ready: Vec<_> = run
                .uploads
                .iter()
                .enumerate()
                .filter_map(|(i, u)| match &u.state {
                    UploadState::Ready(parts) => Some((i, u.clone(), parts.clone())),
                    _ => None,
                })
                .collect();
            (ready, run.max_key.clone())
        };
        let mut previous = self.read_state().await?;
        let attempted: Vec<String> = ready.iter().map(|(_, u, _)| u.key.clone()).collect();
        // Objects a commit completed but never recorded (the process died in between) are
        // retired now; this commit's are announced before they become visible, so the same
        // holds for it.
        let unrecorded: Vec<String> = std::mem::take(&mut previous.pending)
            .into_iter()
            .filter(|key| !previous.objects.contains(key))
            .collect();
        previous.retired.extend(unrecorded);
        if !attempted.is_empty() {
            let announced = State {
                pending: attempted.clone(),
                run_id: self.run_id.clone(),
                updated_at: chrono::Utc::now().to_rfc3339(),
                ..previous.clone()
            };
            self.write_state(&announced).await?;
        }
        let written = match self.complete(ready).await {
            Ok(written) => written,
            Err(e) => {
                // Take back whatever may have become visible (a completion that timed out may
                // still have succeeded): the target stays as the last commit left it.
                let left = self.delete(&attempted).await;
                if !left.is_empty() {
                    tracing::warn!(objects = ?left, "objects of the failed commit could not be deleted");
                }
                return Err(e);
            }
        };
        let mut state = State {
            version: VERSION,
            key: previous.key.clone(),
            offset: previous.offset.clone(),
            objects: previous.objects.clone(),
            retired: previous.retired.clone(),
            pending: Vec::new(),
            table_version: previous.table_version,
            run_id: self.run_id.clone(),
            updated_at: chrono::Utc::now().to_rfc3339(),
        };
        if self.shared.incremental {
            state.offset = larger(previous.offset, max_key);
            state.objects.extend(written.iter().cloned());
        } else {
            // FULL_TABLE: this run's objects are the content; the previous ones are retired.
            state.offset = max_key;
            state.retired.append(&mut state.objects);
            state.objects = written.clone();
        }
        if let Some(key) = self.shared.key.clone() {
            state.key = Some(key);
        }
        if let Some(Catalog::Table(table)) = &self.shared.catalog {
            state.table_version = table.current_version().or(state.table_version);
        }
        if let Err(e) = self.write_state(&state).await {
            // The write may have landed anyway (an answer lost after the store took it): only
            // when the state read back is certainly not ours are the new objects taken back.
            // Unsure, they stay: duplicates can be cleaned up, lost rows cannot.
            match self.read_state().await {
                Ok(stored) if stored == state => {
                    tracing::warn!("s3 target: writing the state object reported an error but it was stored: {e}");
                }
                Ok(_) => {
                    let left = self.delete(&written).await;
                    if !left.is_empty() {
                        tracing::warn!(objects = ?left, "objects of the failed commit could not be deleted");
                    }
                    return Err(e);
                }
                Err(read) => {
                    return Err(ConnectorError::Other(format!(
                        "{e}; reading it back failed too ({read}): this run's objects are left in place \
                         and may be loaded again by the next INCREMENTAL run"
                    )))
                }
            }
        }
        // The catalog learns of the objects (and the view moves to them) before anything they
        // replace is deleted.
        if let Some(catalog) = &self.shared.catalog {
            catalog
                .committed(
                    &self.shared.bucket,
                    &self.shared.layout.prefix,
                    &state.objects,
                )
                .await?;
        }
        // Only objects under the prefix are ever deleted, whatever the state object lists.
        let prefix = under_prefix(&self.shared.layout.prefix, "");
        state.retired.retain(|key| key.starts_with(&prefix));
        if !state.retired.is_empty() {
            let left = self.delete(&state.retired).await;
            if left.len() != state.retired.len() {
                state.retired = left;
                if let Err(e) = self.write_state(&state).await {
                    tracing::warn!("s3 target: the state object could not be updated after deleting replaced objects: {e}");
                }
            }
        }
        Ok(())
    }

    async fn abort(&self) -> Result<()> {
        let open: Vec<(usize, Upload)> = lock(&self.shared.run)
            .uploads
            .iter()
            .enumerate()
            .filter(|(_, u)| matches!(u.state, UploadState::Writing | UploadState::Ready(_)))
            .map(|(i, u)| (i, u.clone()))
            .collect();
        let shared = &self.shared;
        let failures: Vec<String> = stream::iter(open)
            .map(|(index, upload)| async move {
                let outcome = shared
                    .client
                    .abort_multipart_upload()
                    .bucket(&shared.bucket)
                    .key(&upload.key)
                    .upload_id(&upload.upload_id)
                    .send()
                    .await;
                match outcome {
                    Ok(_) => {
                        shared.set_state(index, UploadState::Aborted);
                        None
                    }
                    Err(e) => Some(format!("{}: {}", shared.url(&upload.key), describe(&e))),
                }
            })
            .buffer_unordered(COMMIT_CONCURRENCY)
            .filter_map(|failure| async move { failure })
            .collect()
            .await;
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(ConnectorError::Other(format!(
                "s3 target: {} upload(s) could not be aborted (they stay invisible until a lifecycle rule removes them); first: {first}",
                failures.len()
            ))),
        }
    }
}
