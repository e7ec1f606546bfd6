//! The `firehose` target: every row becomes one JSON object (`json.rs`) sent as one record to a
//! Kinesis Data Firehose delivery stream, in PutRecordBatch calls of up to `batch_size` records
//! and 4 MiB (`batch.rs`).
//!
//! - The stream is checked when the run opens (DescribeDeliveryStream): a missing or inactive
//!   stream fails the run before any data moves.
//! - Each target worker sends its own calls, coalescing batches so calls stay full; `finish`
//!   sends the rest. Rows reach Firehose in no particular order across workers.
//! - Records Firehose reports as failed in a call's answer are resent, alone, with a pause
//!   doubling from 100 ms, up to `max_attempts` attempts each; whole calls failing on
//!   throttling or server errors are retried by the AWS SDK.
//! - **No transactions.** Firehose delivers records as they are accepted: `commit` has nothing
//!   left to do, and a failed or interrupted run leaves what was already delivered (`abort`
//!   cannot take it back). A rerun therefore sends those rows again; each record carries the
//!   whole row, key included, so consumers can deduplicate downstream.
//! - Only FULL_TABLE runs ("send every row"): Firehose cannot say what it already holds, so an
//!   INCREMENTAL run would have no offset to resume from — except in the original layout with
//!   an Athena view (`view_database` and `pk`), whose `MAX(pk)` is the offset.
//! - The original layout (`database`, `table`, …): rows are converted to the Glue table's
//!   column types (the stream's record format conversion reads them by that schema), carry the
//!   run's `_table_version`, and after every record is acknowledged the named crawler is
//!   started and the Athena view re-pointed (see [`crate::aws::catalog`]). Firehose delivers
//!   to S3 within its buffering interval, so the view may briefly show fewer rows.

mod batch;
mod config;
// Used by the tests that read deliveries back from S3.
#[cfg(all(test, feature = "services", feature = "s3"))]
mod fault_proxy;
mod json;
#[cfg(test)]
mod tests;
// Against the real server `scripts/services.sh` starts: `--features services`.
#[cfg(all(test, feature = "services"))]
mod service_tests;

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::types::{DeliveryStreamStatus, Record};
use aws_sdk_firehose::Client;
use aws_smithy_types::Blob;

use batch::{call_len, StreamSender};
pub use batch::{CallLimits, MAX_BYTES_PER_CALL, MAX_RECORDS_PER_CALL, MAX_RECORD_BYTES};
use config::SECTION;
pub use config::{Config, Decimals};
pub use json::JsonRows;

use crate::aws::call_failed;
use crate::aws::catalog::{CatalogTable, Conform, Endpoints};
use crate::aws::Connection;
use crate::{
    ConnectorError, Offset, ReplicationMode, Result, Target, TargetConnector, TargetContext, Writer,
};

#[async_trait]
impl TargetConnector for FirehoseTarget {
    type Config = Config;

    /// Check the config, refuse INCREMENTAL runs, and check that the stream exists and is
    /// ACTIVE.
    async fn open(config: Config, context: TargetContext) -> Result<Self> {
        config.check()?;
        full_table_only(
            context.replication_mode,
            &config.delivery_stream,
            config.has_view_offset(),
        )?;
        let connection = config.connection()?;
        let sdk_config = connection.sdk_config().await?;
        let client = Client::new(&sdk_config);
        let mut location = match sdk_config.region() {
            Some(region) => format!("in region {region}"),
            None => "in the default region".to_string(),
        };
        if let Some(url) = config.endpoint_url.as_deref().filter(|u| !u.is_empty()) {
            location.push_str(&format!(" at {url}"));
        }
        check_stream(&client, &config.delivery_stream, &location).await?;
        let catalog = match config.glue()? {
            Some(layout) => {
                let sdk = Connection {
                    service: "GLUE",
                    endpoint_url: None,
                    ..connection.clone()
                }
                .sdk_config()
                .await?;
                let endpoints = Endpoints {
                    glue: config.glue_endpoint_url.as_deref(),
                    athena: config.athena_endpoint_url.as_deref(),
                };
                let full_table = context.replication_mode != ReplicationMode::Incremental;
                let table = CatalogTable::open(
                    "firehose target",
                    &layout,
                    &sdk,
                    endpoints,
                    full_table,
                    false,
                )
                .await?;
                Some(Arc::new(table))
            }
            None => None,
        };
        Ok(Self {
            catalog,
            sender: Arc::new(StreamSender::new(
                client,
                config.delivery_stream,
                config.max_attempts,
                config.rate_limit,
            )),
            rows: JsonRows::new(config.decimals, config.newline_delimited),
            limits: CallLimits::new(config.batch_size),
            workers: config.concurrency,
        })
    }
}

/// Firehose cannot say which rows it already holds: INCREMENTAL runs are refused, unless an
/// Athena view over the delivered table gives the offset.
fn full_table_only(mode: ReplicationMode, stream: &str, view_offset: bool) -> Result<()> {
    if mode == ReplicationMode::Incremental && !view_offset {
        return Err(ConnectorError::config(
            "replication_mode",
            format!(
                "the firehose target (stream '{stream}') takes FULL_TABLE runs only: Firehose cannot \
                 say which rows it already holds, so an INCREMENTAL run has no offset to \
                 resume from (in the original layout, `view_database` and `pk` give one)"
            ),
        ));
    }
    Ok(())
}

/// The configured delivery stream of a run.
pub struct FirehoseTarget {
    /// The original layout's Glue table, if any.
    catalog: Option<Arc<CatalogTable>>,
    sender: Arc<StreamSender>,
    rows: JsonRows,
    limits: CallLimits,
    workers: usize,
}

/// The stream must exist and be ACTIVE. Without permission to describe it (a role allowed only
/// to put records) the check is skipped: the first call then says what is wrong.
async fn check_stream(client: &Client, stream: &str, location: &str) -> Result<()> {
    let path = format!("{SECTION}.delivery_stream");
    match client
        .describe_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await
    {
        Ok(output) => {
            let status = output
                .delivery_stream_description()
                .map(|d| d.delivery_stream_status());
            match status {
                None | Some(DeliveryStreamStatus::Active) => Ok(()),
                Some(other) => Err(ConnectorError::config(
                    path,
                    format!(
                        "delivery stream '{stream}' {location} is {}, not ACTIVE: it cannot take records",
                        other.as_str()
                    ),
                )),
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Err(ConnectorError::config(
                path,
                format!("delivery stream '{stream}' does not exist {location}"),
            ))
        }
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("AccessDeniedException") => {
            tracing::warn!(
                "{SECTION}: not allowed to describe delivery stream '{stream}' {location}; sending without checking it first"
            );
            Ok(())
        }
        Err(e) => Err(call_failed(
            format!("{SECTION}: checking delivery stream '{stream}' {location}"),
            &e,
        )),
    }
}

#[async_trait]
impl Target for FirehoseTarget {
    fn target_id(&self) -> String {
        self.sender.stream().to_string()
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn needs_order(&self) -> bool {
        false
    }

    async fn get_offset(&self) -> Result<Option<Offset>> {
        match &self.catalog {
            Some(table) if table.has_view_offset() => table.offset().await,
            _ => Ok(None),
        }
    }

    async fn writer(&self, worker: usize) -> Result<Box<dyn Writer>> {
        crate::connector::check_worker(SECTION, worker, self.workers)?;
        Ok(Box::new(FirehoseWriter {
            catalog: self.catalog.clone(),
            conform: None,
            worker,
            sender: self.sender.clone(),
            rows: self.rows,
            limits: self.limits,
            pending: VecDeque::new(),
            ends: Vec::new(),
            rendered_len: 0,
            batches: 0,
        }))
    }

    async fn commit(&self) -> Result<()> {
        // Every record was delivered when its call was accepted: nothing to make visible.
        tracing::info!(
            "{SECTION}: {} record(s) delivered to Firehose stream '{}'",
            self.sender.delivered(),
            self.sender.stream()
        );
        if let Some(catalog) = &self.catalog {
            catalog.committed("", "", &[]).await?;
        }
        Ok(())
    }

    async fn abort(&self) -> Result<()> {
        let delivered = self.sender.delivered();
        if delivered > 0 {
            tracing::warn!(
                "{SECTION}: Firehose has no transactions: the {delivered} record(s) already delivered to stream '{}' stay delivered",
                self.sender.stream()
            );
        }
        Ok(())
    }
}

/// One target worker: renders batches into records and sends them in full calls.
pub struct FirehoseWriter {
    catalog: Option<Arc<CatalogTable>>,
    /// How batches become the Glue table's columns (set by the first batch).
    conform: Option<Conform>,
    worker: usize,
    sender: Arc<StreamSender>,
    rows: JsonRows,
    limits: CallLimits,
    /// Records not sent yet (less than a full call between loads).
    pending: VecDeque<Record>,
    /// Where each record of the batch being loaded ends in its rendered bytes.
    ends: Vec<usize>,
    /// Size of the previous batch's rendering, to allocate the next one at once.
    rendered_len: usize,
    /// Batches loaded so far (numbers the batches in errors).
    batches: usize,
}

impl FirehoseWriter {
    /// Send calls while a full one is pending; with `flush`, send everything.
    async fn send_ready(&mut self, flush: bool) -> Result<()> {
        while !self.pending.is_empty() {
            let n = call_len(
                self.pending.iter().map(|r| r.data().as_ref().len()),
                self.limits,
            );
            let full = n < self.pending.len() || n >= self.limits.max_records;
            if !full && !flush {
                break;
            }
            let call: Vec<Record> = self.pending.drain(..n).collect();
            self.sender.put(call).await?;
        }
        Ok(())
    }

    /// The error for a row whose record is over Firehose's limit.
    fn oversized(&self, batch: &RecordBatch, row: usize, size: usize) -> ConnectorError {
        ConnectorError::Other(format!(
            "{SECTION}: {} is {size} bytes as JSON, over Firehose's limit of {MAX_RECORD_BYTES} \
             bytes (1,000 KiB) per record (stream '{}'{})",
            crate::row_name(batch, row, self.batches),
            self.sender.stream(),
            if self.worker > 0 {
                format!(", target worker {}", self.worker)
            } else {
                String::new()
            }
        ))
    }
}

#[async_trait]
impl Writer for FirehoseWriter {
    async fn load(&mut self, batch: RecordBatch) -> Result<()> {
        self.batches += 1;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = match &self.catalog {
            Some(catalog) => {
                if self.conform.is_none() {
                    self.conform = Some(catalog.conform(&batch.schema()).await?);
                }
                match &self.conform {
                    Some(conform) => conform.apply(&batch)?,
                    None => batch,
                }
            }
            None => batch,
        };
        // Rendering is CPU work: on the blocking pool, like the other targets' encoding.
        let (rows, capacity, mut ends) =
            (self.rows, self.rendered_len, std::mem::take(&mut self.ends));
        let (batch, rendered, ends, rendering) = tokio::task::spawn_blocking(move || {
            let mut rendered = Vec::with_capacity(capacity);
            ends.clear();
            let rendering = rows.render(&batch, &mut rendered, &mut ends);
            (batch, rendered, ends, rendering)
        })
        .await
        .map_err(|e| ConnectorError::Other(format!("{SECTION}: rendering rows failed: {e}")))?;
        self.ends = ends;
        rendering?;
        self.rendered_len = rendered.len();
        let mut start = 0;
        for (row, &end) in self.ends.iter().enumerate() {
            if end - start > MAX_RECORD_BYTES {
                return Err(self.oversized(&batch, row, end - start));
            }
            start = end;
        }
        // One buffer for the batch; each record's data is a slice of it, not a copy.
        let shared = Blob::new(rendered).into_bytes();
        let mut start = 0;
        for &end in &self.ends {
            let data = Blob::from_maybe_shared(shared.slice(start..end));
            let record = Record::builder()
                .data(data)
                .build()
                .map_err(|e| ConnectorError::Other(format!("{SECTION}: {e}")))?;
            self.pending.push_back(record);
            start = end;
        }
        self.send_ready(false).await
    }

    async fn finish(&mut self) -> Result<()> {
        self.send_ready(true).await
    }
}
