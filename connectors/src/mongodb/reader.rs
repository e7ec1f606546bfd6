//! The reader task: keyset pages in key order, each decoded into one record batch, a page or
//! two ahead of the pipeline.

use std::future::IntoFuture;
use std::sync::Arc;

use mongodb::bson::{Document, RawDocumentBuf};
use mongodb::options::Collation;
use mongodb::Collection;
use tokio::sync::mpsc;

use super::config::{Endpoint, SECTION};
use super::decode::{bson_type_name, describe_doc, BatchDecoder, Policy};
use super::key::{self, Key};
use super::schema::Columns;
use super::Page;
use crate::{ConnectorError, Result};

/// Everything a read needs, shared by the sample and the reader.
pub(super) struct Plan {
    pub collection: Collection<RawDocumentBuf>,
    /// `db.collection`, for messages.
    pub name: String,
    pub endpoint: Arc<Endpoint>,
    /// Combined with `$and` with the key range.
    pub conditions: Vec<Document>,
    pub projection: Option<Document>,
    /// The replication key's field name.
    pub key: String,
    pub columns: Columns,
    pub batch_size: usize,
    pub policy: Policy,
    /// How long one answer of the server may take.
    pub read_timeout: std::time::Duration,
    /// Whether `columns` were inferred from a sample (fields they lack follow `policy`).
    pub inferred: bool,
}

/// Sorting and `$gt` compare strings bytewise whatever the collection's default collation, so
/// the reader's own order check and a target's string offsets agree with the server.
pub(super) fn simple_collation() -> Collation {
    Collation::builder().locale("simple").build()
}

/// Read every page after `start` into `pages`; an error is delivered as the last page.
pub(super) async fn run(plan: Arc<Plan>, start: Option<Key>, pages: mpsc::Sender<Page>) {
    if let Err(e) = read(&plan, start, &pages).await {
        let _ = pages.send(Err(e)).await;
    }
}

async fn read(plan: &Plan, mut last: Option<Key>, pages: &mpsc::Sender<Page>) -> Result<()> {
    let mut decoder = BatchDecoder::new(
        &plan.columns,
        plan.batch_size,
        plan.name.clone(),
        plan.policy,
        plan.inferred,
    )?;
    let key_type = plan.columns.key_type().clone();
    let reading = format!("reading `{}`", plan.name);
    let limit = i64::try_from(plan.batch_size).unwrap_or(i64::MAX);
    // Ask for the whole page in the first reply (the server still caps a reply at 16 MiB).
    let wire_batch = u32::try_from(plan.batch_size).unwrap_or(u32::MAX);
    loop {
        let filter = key::page_filter(&plan.conditions, &plan.key, &key_type, last.as_ref());
        let find = plan
            .collection
            .find(filter)
            .sort(key::sort(&plan.key))
            .limit(limit)
            .batch_size(wire_batch)
            .collation(simple_collation());
        let find = match &plan.projection {
            Some(projection) => find.projection(projection.clone()),
            None => find,
        };
        let mut cursor = plan
            .endpoint
            .within(&reading, plan.read_timeout, find.into_future())
            .await?;
        while plan
            .endpoint
            .within(&reading, plan.read_timeout, cursor.advance())
            .await?
        {
            let doc = cursor.current();
            let value = doc.get(&plan.key).map_err(|e| {
                ConnectorError::Other(format!(
                    "{SECTION}: {}: document {}: malformed BSON: {e}",
                    plan.name,
                    describe_doc(doc, &plan.key)
                ))
            })?;
            let key = value.and_then(|v| Key::read(v, &key_type)).ok_or_else(|| {
                ConnectorError::Other(format!(
                    "{SECTION}: {}: document {}: the replication key `{}` is {}, not \
                         {} like the rest (keyset pagination needs one type; select it with \
                         `filter`)",
                    plan.name,
                    describe_doc(doc, &plan.key),
                    plan.key,
                    value.map_or("missing", bson_type_name),
                    key_type.name()
                ))
            })?;
            if let Some(previous) = &last {
                if key <= *previous {
                    return Err(out_of_order(
                        plan,
                        previous,
                        &key,
                        describe_doc(doc, &plan.key),
                    ));
                }
            }
            decoder.push(doc)?;
            last = Some(key);
        }
        drop(cursor);
        let rows = decoder.len();
        if rows > 0 {
            let batch = decoder.finish()?;
            if pages.send(Ok(batch)).await.is_err() {
                // The pipeline stopped reading: nothing more to do.
                return Ok(());
            }
        }
        if rows < plan.batch_size {
            break;
        }
    }
    let lost = decoder.mismatches();
    if !lost.is_empty() {
        let fields = lost
            .iter()
            .map(|(path, count)| format!("`{path}`: {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(
            "{SECTION}: {}: values that did not fit their column were read as null, and \
             fields the schema lacks were left out (on_mismatch = \"null\"): {fields}",
            plan.name
        );
    }
    Ok(())
}

/// A key not above the previous one: keyset pagination would skip or repeat documents.
fn out_of_order(plan: &Plan, previous: &Key, key: &Key, id: String) -> ConnectorError {
    let what = if key == previous {
        format!(
            "document {id} has the same `{}` ({key}) as the document before it: the \
             replication key must be unique, or `$gt` would skip documents sharing a key at a \
             page boundary",
            plan.key
        )
    } else {
        format!(
            "the server returned `{}` {key} (document {id}) after {previous} although the \
             query sorts by it; paging on `$gt` would skip documents (a MongoDB-compatible \
             server that does not sort this type?)",
            plan.key
        )
    };
    ConnectorError::Other(format!("{SECTION}: {}: {what}", plan.name))
}
