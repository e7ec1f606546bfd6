//! The `mongodb` source: one collection, read in replication-key order.
//!
//! - **Open**: connect (`uri`, or `host`/`port` with `user`/`password`), check that the
//!   collection exists (MongoDB answers a query on a missing collection with no documents, and
//!   a typo must not copy zero rows quietly), then take the columns from `schema` or infer them
//!   from the first `sample_size` documents in key order ([`schema`] has the type mapping).
//! - **Pages** ([`key`], [`reader`]): `find({$and: [filter…, {key: {$gt: last}}]}).sort({key:
//!   1}).limit(batch_size)`, `last` being the previous page's last key in its BSON type; the
//!   first page starts after `offset` (or the target's offset in INCREMENTAL runs). A reader
//!   task decodes a page or two ahead of the pipeline, each page straight from the raw BSON
//!   into one record batch ([`decode`]). Keys must come back strictly increasing; anything
//!   else (a repeated key, a server that sorts differently) stops the read rather than skip
//!   documents.
//!
//! The key column carries [`crate::KEY_METADATA`]; ObjectId keys are read as lowercase hex,
//! which sorts like the ObjectIds, so a target's largest string is where a run resumes.

mod config;
mod decimal;
mod declared;
mod decode;
mod filter;
mod key;
mod reader;
mod schema;
#[cfg(any(test, feature = "test-support"))]
pub(crate) mod test_db;
// Against the real server `scripts/services.sh` starts: `--features services`.
#[cfg(all(test, feature = "services"))]
mod service_tests;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use mongodb::bson::{doc, RawDocumentBuf};
use mongodb::{Client, Collection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use config::{Config, Nested, OnMismatch};
use config::{Endpoint, SECTION};
use decode::Policy;
use reader::Plan;
use schema::{Columns, FieldType, Inference, Nesting};

use crate::{ConnectorError, Result, Source, SourceConnector, SourceContext};

#[async_trait]
impl SourceConnector for MongoSource {
    type Config = Config;

    /// Connect, check the collection, settle the columns and the start key, and start the
    /// reader.
    async fn open(config: Config, context: SourceContext) -> Result<Self> {
        let Query {
            conditions,
            declared,
            projection,
        } = Query::from_config(&config)?;
        let policy = match config.on_mismatch {
            OnMismatch::Fail => Policy::Fail,
            OnMismatch::Null => Policy::Null,
        };
        let nesting = match config.nested {
            Nested::Struct => Nesting::Typed,
            Nested::Json => Nesting::Json,
        };

        let endpoint = Arc::new(config.endpoint().await?);
        let client = Client::with_options(endpoint.options.clone())
            .map_err(|e| endpoint.error("connecting", e))?;
        let name = format!("{}.{}", config.database, config.collection);
        let database = client.database(&config.database);
        // A filter on the name keeps the answer short; the membership check does not rely on
        // the server honouring it.
        let names = database
            .list_collection_names()
            .filter(doc! { "name": config.collection.as_str() })
            .authorized_collections(true)
            .await
            .map_err(|e| {
                endpoint.error(
                    &format!("listing the collections of `{}`", config.database),
                    e,
                )
            })?;
        if !names.contains(&config.collection) {
            return Err(ConnectorError::config(
                format!("{SECTION}.collection"),
                format!("collection {name} does not exist at {}", endpoint.hosts),
            ));
        }
        let collection = database.collection::<RawDocumentBuf>(&config.collection);

        let inferred = declared.is_none();
        let columns = match declared {
            Some(columns) => Some(columns),
            None => {
                sample(
                    &collection,
                    &endpoint,
                    &name,
                    &config,
                    &conditions,
                    projection.as_ref(),
                    nesting,
                )
                .await?
            }
        };
        let (columns, start) = match columns {
            Some(columns) => {
                let start = key::start_after(
                    columns.key_type(),
                    &format!("`{}` of `{name}`", config.replication_key),
                    context.resume_after.as_ref(),
                    config.offset.as_ref(),
                )?;
                (columns, Some(start))
            }
            // No document matches: nothing to read, and no type to give the key.
            None => (
                Columns {
                    fields: vec![(config.replication_key.clone(), FieldType::Json)],
                    key_index: 0,
                },
                None,
            ),
        };
        if inferred {
            tracing::debug!(
                "{SECTION}: {name}: columns {:?}",
                columns
                    .fields
                    .iter()
                    .map(|(n, t)| format!("{n}: {}", t.name()))
                    .collect::<Vec<_>>()
            );
        }
        let schema = columns.schema();
        let (tx, pages) = mpsc::channel(PAGES_AHEAD);
        let reader = match start {
            Some(start) => {
                let plan = Arc::new(Plan {
                    collection,
                    name: name.clone(),
                    endpoint,
                    conditions,
                    projection,
                    key: config.replication_key.clone(),
                    columns,
                    batch_size: config.batch_size,
                    policy,
                    inferred,
                    read_timeout: Duration::from_secs(config.read_timeout_s),
                });
                Some(tokio::spawn(reader::run(plan, start, tx)))
            }
            None => None,
        };
        Ok(Self {
            name,
            schema,
            pages,
            reader,
            emitted: false,
        })
    }
}

/// What the config asks of the collection, checked before connecting.
struct Query {
    conditions: Vec<mongodb::bson::Document>,
    declared: Option<Columns>,
    projection: Option<mongodb::bson::Document>,
}

impl Query {
    fn from_config(config: &Config) -> Result<Self> {
        config.check()?;
        let conditions = config.conditions()?;
        let declared = match &config.schema {
            Some(fields) => Some(declared::declared(
                fields,
                &config.replication_key,
                &format!("{SECTION}.schema"),
            )?),
            None => None,
        };
        let declared_names: Option<Vec<String>> = declared
            .as_ref()
            .map(|c| c.fields.iter().map(|(name, _)| name.clone()).collect());
        let projection = config.projection(declared_names.as_deref())?;
        Ok(Self {
            conditions,
            declared,
            projection,
        })
    }
}

/// Pages the reader may decode ahead of the pipeline.
const PAGES_AHEAD: usize = 2;

/// A page read by the reader, or the error that stopped it.
type Page = Result<RecordBatch>;

/// The open source: the reader task running ahead, and the queue it fills.
pub struct MongoSource {
    /// `db.collection`, for messages.
    name: String,
    schema: SchemaRef,
    pages: mpsc::Receiver<Page>,
    reader: Option<JoinHandle<()>>,
    emitted: bool,
}

/// Infer the columns from the first `sample_size` documents in key order (after the filter);
/// `None` when no document matches.
async fn sample(
    collection: &Collection<RawDocumentBuf>,
    endpoint: &Endpoint,
    name: &str,
    config: &Config,
    conditions: &[mongodb::bson::Document],
    projection: Option<&mongodb::bson::Document>,
    nesting: Nesting,
) -> Result<Option<Columns>> {
    let sampling = format!("sampling `{name}`");
    let find = collection
        .find(key::all_of(conditions))
        .sort(key::sort(&config.replication_key))
        .limit(i64::try_from(config.sample_size).unwrap_or(i64::MAX))
        .batch_size(u32::try_from(config.sample_size).unwrap_or(u32::MAX))
        .collation(reader::simple_collation());
    let find = match projection {
        Some(projection) => find.projection(projection.clone()),
        None => find,
    };
    let timeout = Duration::from_secs(config.read_timeout_s);
    let mut cursor = endpoint
        .within(&sampling, timeout, find.into_future())
        .await?;
    let mut inference = Inference::default();
    while endpoint
        .within(&sampling, timeout, cursor.advance())
        .await?
    {
        let doc = cursor.current();
        inference.add(doc).map_err(|e| {
            ConnectorError::Other(format!(
                "{SECTION}: {name}: document {}: malformed BSON: {e}",
                decode::describe_doc(doc, &config.replication_key)
            ))
        })?;
    }
    if inference.documents() == 0 {
        return Ok(None);
    }
    inference
        .finish(&config.replication_key, nesting, |message| {
            ConnectorError::config(
                format!("{SECTION}.replication_key"),
                format!("{name}: {message}"),
            )
        })
        .map(Some)
}

#[async_trait]
impl Source for MongoSource {
    async fn extract(&mut self) -> Result<Option<RecordBatch>> {
        if let Some(page) = self.pages.recv().await {
            self.emitted = true;
            return page.map(Some);
        }
        // The queue closed: a reader that died without reporting an error is still one.
        if let Some(reader) = self.reader.take() {
            if let Err(e) = reader.await {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: the reader of {} stopped unexpectedly: {e}",
                    self.name
                )));
            }
        }
        if self.emitted {
            return Ok(None);
        }
        // No documents at all: one empty batch still tells the target the columns.
        self.emitted = true;
        Ok(Some(RecordBatch::new_empty(self.schema.clone())))
    }
}

impl Drop for MongoSource {
    fn drop(&mut self) {
        // A source dropped mid-read (Ctrl-C, a failed stage) stops its reader at once.
        if let Some(reader) = &self.reader {
            reader.abort();
        }
    }
}
