//! The `bigquery` source: one BigQuery table, or the result of one standard-SQL query.
//!
//! - **Schema** ([`types`]): tables.get (or the query's result schema) gives the columns; each
//!   BigQuery type maps to the Arrow type that holds its values exactly (REPEATED → List,
//!   RECORD → Struct, NUMERIC → Decimal128(38, 9), …).
//! - **Storage Read API** ([`storage`], preferred with `read_api: auto`): one read session in
//!   Arrow format, its streams read in parallel tasks; batches arrive as Arrow and are only
//!   brought to the same schema ([`conform`]). A query is read from the table its job wrote.
//! - **REST** ([`rest`], the fallback): tabledata.list pages, or jobs.query + getQueryResults
//!   pages, each page decoded into one record batch ([`rows`]) a page ahead of the pipeline.
//!   `row_restriction` and views are read through a query.
//!
//! With `read_api: auto`, a Storage Read API that is unreachable, refuses the session, or sends
//! a column in a form that would not convert exactly makes the source read over REST instead;
//! the path taken is logged. Batches come in no particular order (streams are read in
//! parallel), which is why INCREMENTAL runs are refused.

mod auth;
mod config;
mod conform;
mod pages;
mod rest;
mod rows;
mod storage;
#[cfg(all(test, feature = "services"))]
mod test_server;
#[cfg(test)]
mod tests;
// Against the real server `scripts/services.sh` starts: `--features services`.
#[cfg(all(test, feature = "services"))]
mod service_tests;
mod types;
mod values;

use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use auth::Credentials;
pub use config::{Config, ReadApi};
use config::{TableRef, Writer, SECTION};
use pages::Pages;
use rest::Rest;
use rows::PageDecoder;
use types::FieldSchema;

use crate::{ConnectorError, ReplicationMode, Result, Source, SourceConnector, SourceContext};

#[async_trait]
impl SourceConnector for BigQuerySource {
    type Config = Config;

    /// Read the schema, choose the read path (Storage Read API or REST) and start the readers.
    async fn open(config: Config, context: SourceContext) -> Result<Self> {
        refuse_incremental(context.replication_mode)?;
        config.check()?;
        let credentials = Credentials::load(&config).await?;
        let rest = Arc::new(Rest::new(&config, credentials.clone())?);
        match config.target() {
            Writer::Table(table) => Self::open_table(&config, rest, &credentials, table).await,
            Writer::Query(sql) => Self::open_query(&config, rest, &credentials, &sql).await,
        }
    }
}

/// BigQuery tables have no key order an INCREMENTAL run could resume from.
fn refuse_incremental(mode: ReplicationMode) -> Result<()> {
    if mode == ReplicationMode::Incremental {
        return Err(ConnectorError::config(
            SECTION,
            "INCREMENTAL replication is not supported: BigQuery rows have no key order to \
             resume from (the original fastlane ignored offsets too); use FULL_TABLE",
        ));
    }
    Ok(())
}

/// REST pages decoded ahead of the pipeline.
const PAGES_AHEAD: usize = 2;

/// The open source: reader tasks running ahead, and the queue they fill.
pub struct BigQuerySource {
    batches: mpsc::Receiver<Result<RecordBatch>>,
    readers: JoinSet<()>,
    schema: SchemaRef,
    label: String,
    emitted: bool,
}

/// What is read and how its columns come out.
struct Plan {
    /// `table p.d.t` or `query job p:job`, for messages.
    label: String,
    /// The columns in the order the REST API sends them.
    fields: Vec<FieldSchema>,
    /// For each output column, its index among `fields` (`None`: the same order).
    order: Option<Vec<usize>>,
    /// The batches' schema.
    schema: SchemaRef,
}

impl Plan {
    /// The columns of a table read through the REST API or a read session: `selected` (in
    /// that order) or all of them.
    fn table(table: &TableRef, all: &[FieldSchema], selected: Option<&[String]>) -> Result<Self> {
        let label = format!("table {table}");
        let Some(selected) = selected else {
            return Plan::of(label, all.to_vec(), None);
        };
        let mut positions = Vec::with_capacity(selected.len());
        for (i, name) in selected.iter().enumerate() {
            let position = all
                .iter()
                .position(|f| f.name == *name)
                .or_else(|| all.iter().position(|f| f.name.eq_ignore_ascii_case(name)))
                .ok_or_else(|| {
                    let names: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
                    ConnectorError::config(
                        format!("{SECTION}.selected_fields[{i}]"),
                        format!(
                            "{label} has no column `{name}` (its columns: {})",
                            names.join(", ")
                        ),
                    )
                })?;
            positions.push(position);
        }
        // The REST API returns selected columns in the table's order.
        let mut in_table_order = positions.clone();
        in_table_order.sort_unstable();
        in_table_order.dedup();
        let fields = in_table_order.iter().map(|&p| all[p].clone()).collect();
        let order: Vec<usize> = positions
            .iter()
            .map(|p| {
                in_table_order
                    .iter()
                    .position(|q| q == p)
                    .unwrap_or_default()
            })
            .collect();
        let identity = order.iter().enumerate().all(|(i, &o)| i == o);
        Plan::of(label, fields, (!identity).then_some(order))
    }

    fn of(label: String, fields: Vec<FieldSchema>, order: Option<Vec<usize>>) -> Result<Self> {
        let in_label = |e: String| ConnectorError::Other(format!("{SECTION}: {label}: {e}"));
        let schema = types::arrow_schema(&fields).map_err(in_label)?;
        let schema = match &order {
            Some(order) => Arc::new(schema.project(order).map_err(|e| in_label(e.to_string()))?),
            None => schema,
        };
        Ok(Plan {
            label,
            fields,
            order,
            schema,
        })
    }

    /// The decoder of REST pages of this plan.
    fn decoder(&self) -> Result<PageDecoder> {
        PageDecoder::new(&self.fields)
            .map_err(|e| ConnectorError::Other(format!("{SECTION}: {}: {e}", self.label)))
    }
}

impl BigQuerySource {
    async fn open_table(
        config: &Config,
        rest: Arc<Rest>,
        credentials: &Credentials,
        table: TableRef,
    ) -> Result<Self> {
        let info = rest.table(&table).await?;
        let plan = Plan::table(&table, &info.fields, config.selected_fields.as_deref())?;
        let selected_fields: Vec<String> = match &config.selected_fields {
            Some(_) => plan
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            None => Vec::new(),
        };
        if let Some(source) = Self::try_storage(
            config,
            credentials,
            &table,
            selected_fields.clone(),
            config.row_restriction.clone().unwrap_or_default(),
            &plan,
        )
        .await?
        {
            return Ok(source);
        }
        // tabledata.list cannot filter rows nor list views: those go through a query.
        let needs_query = config.row_restriction.is_some()
            || matches!(
                info.kind.as_str(),
                "VIEW" | "MATERIALIZED_VIEW" | "EXTERNAL"
            );
        if needs_query {
            let columns = if selected_fields.is_empty() {
                "*".to_string()
            } else {
                let quoted: Vec<String> =
                    selected_fields.iter().map(|c| format!("`{c}`")).collect();
                quoted.join(", ")
            };
            let mut sql = format!(
                "SELECT {columns} FROM `{}`.`{}`.`{}`",
                table.project, table.dataset, table.table
            );
            if let Some(restriction) = &config.row_restriction {
                sql.push_str(&format!(" WHERE {restriction}"));
            }
            tracing::info!(
                "{SECTION}: {}: reading through a query over REST: {sql}",
                plan.label
            );
            return Self::rest_query(config, rest, &sql, &plan.label).await;
        }
        tracing::info!(
            "{SECTION}: {}: reading tabledata.list pages over REST",
            plan.label
        );
        let selected = config.selected_fields.as_ref().map(|_| {
            let names: Vec<&str> = plan.fields.iter().map(|f| f.name.as_str()).collect();
            names.join(",")
        });
        let pages = Pages::Table { table, selected };
        Self::start_rest(rest, pages, plan)
    }

    async fn open_query(
        config: &Config,
        rest: Arc<Rest>,
        credentials: &Credentials,
        sql: &str,
    ) -> Result<Self> {
        let result = rest
            .run_query(sql, &config.gcp_project, config.dataset_id.as_deref())
            .await?;
        let plan = Plan::of(format!("query job {}", result.job), result.fields, None)?;
        if config.storage_url().is_some() {
            // The Storage Read API reads the table the job wrote its result to.
            match rest.destination_table(&result.job).await {
                Ok(Some(destination)) => {
                    if let Some(source) = Self::try_storage(
                        config,
                        credentials,
                        &destination,
                        Vec::new(),
                        String::new(),
                        &plan,
                    )
                    .await?
                    {
                        return Ok(source);
                    }
                }
                outcome => {
                    let reason = match outcome {
                        Err(e) => format!("jobs.get failed: {e}"),
                        _ => "the job names no result table".to_string(),
                    };
                    Self::storage_unavailable(config, &plan.label, &reason)?;
                }
            }
        }
        tracing::info!(
            "{SECTION}: {}: reading query result pages over REST",
            plan.label
        );
        let pages = Pages::Query {
            job: result.job,
            first: Some(result.first),
        };
        Self::start_rest(rest, pages, plan)
    }

    /// A table's rows through a query over REST (views, `row_restriction`).
    async fn rest_query(config: &Config, rest: Arc<Rest>, sql: &str, table: &str) -> Result<Self> {
        let result = rest.run_query(sql, &config.gcp_project, None).await?;
        let label = format!("{table} (query job {})", result.job);
        let plan = Plan::of(label, result.fields, None)?;
        let pages = Pages::Query {
            job: result.job,
            first: Some(result.first),
        };
        Self::start_rest(rest, pages, plan)
    }

    /// The source reading `table` through the Storage Read API, or `None` when `read_api` is
    /// `auto` and the API cannot serve the read (then the caller reads over REST).
    async fn try_storage(
        config: &Config,
        credentials: &Credentials,
        table: &TableRef,
        selected_fields: Vec<String>,
        row_restriction: String,
        plan: &Plan,
    ) -> Result<Option<Self>> {
        let Some(url) = config.storage_url() else {
            return Ok(None);
        };
        let request = storage::ReadRequest {
            url: &url,
            billing_project: &config.gcp_project,
            table,
            selected_fields,
            row_restriction,
            streams: config.concurrency,
            timeout: Duration::from_secs(config.timeout_s),
        };
        let session =
            match storage::open(request, credentials, plan.schema.clone(), &plan.label).await {
                Ok(session) => session,
                Err(reason) => {
                    Self::storage_unavailable(config, &plan.label, &reason)?;
                    return Ok(None);
                }
            };
        tracing::info!(
            "{SECTION}: {}: reading through the Storage Read API ({url}, {} streams)",
            plan.label,
            session.streams.len()
        );
        let (tx, rx) = mpsc::channel(2 * session.streams.len().max(1));
        let mut readers = JoinSet::new();
        storage::spawn(session, &tx, &mut readers);
        Ok(Some(Self {
            batches: rx,
            readers,
            schema: plan.schema.clone(),
            label: plan.label.clone(),
            emitted: false,
        }))
    }

    /// With `read_api: auto`, log why REST is used instead; with `storage`, fail.
    fn storage_unavailable(config: &Config, label: &str, reason: &str) -> Result<()> {
        if config.read_api == ReadApi::Storage {
            return Err(ConnectorError::Other(format!(
                "{SECTION}: {label}: the Storage Read API cannot serve this read: {reason}"
            )));
        }
        tracing::info!(
            "{SECTION}: {label}: the Storage Read API cannot serve this read ({reason}); reading over REST"
        );
        Ok(())
    }

    fn start_rest(rest: Arc<Rest>, pages: Pages, plan: Plan) -> Result<Self> {
        let decoder = plan.decoder()?;
        let (tx, rx) = mpsc::channel(PAGES_AHEAD);
        let mut readers = JoinSet::new();
        readers.spawn(pages::read(
            rest,
            pages,
            decoder,
            plan.order.clone(),
            plan.label.clone(),
            tx,
        ));
        Ok(Self {
            batches: rx,
            readers,
            schema: plan.schema,
            label: plan.label,
            emitted: false,
        })
    }
}

#[async_trait]
impl Source for BigQuerySource {
    async fn extract(&mut self) -> Result<Option<RecordBatch>> {
        if let Some(batch) = self.batches.recv().await {
            self.emitted = true;
            return batch.map(Some);
        }
        // The queue closed: a reader that died without reporting an error is still one.
        while let Some(joined) = self.readers.join_next().await {
            if let Err(e) = joined {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: a reader of {} stopped unexpectedly: {e}",
                    self.label
                )));
            }
        }
        if self.emitted {
            return Ok(None);
        }
        // No rows at all: one empty batch still tells the target the columns.
        self.emitted = true;
        Ok(Some(RecordBatch::new_empty(self.schema.clone())))
    }
}
