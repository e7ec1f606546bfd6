//! A target worker's writer: batches become `LOAD DATA LOCAL INFILE` statements streamed from
//! memory (or multi-row INSERTs), checked for every row landing without a warning.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::config::{LoadMethod, SECTION};
use super::encode::{loads_as_hex, BatchEncoder};
use super::LoadPlan;
use crate::mysql::types::quote_ident;
use crate::{ConnectorError, ReplicationMode, Result, Target};

/// Server errors meaning "LOAD DATA LOCAL is disabled" (MySQL 1148/3948, MariaDB 4166).
const LOCAL_INFILE_REFUSED: [u16; 3] = [1148, 3948, 4166];
/// Largest INSERT statement sent (well under the servers' default max_allowed_packet).
const MAX_INSERT_BYTES: usize = 4 << 20;
/// Rows encoded per piece of a LOAD DATA stream.
const LOAD_DATA_CHUNK_ROWS: usize = 2048;
/// Rows encoded at a time while filling an INSERT statement.
const INSERT_ROWS_STEP: usize = 256;

/// The statements that load one batch schema into the table.
struct Statements {
    schema: SchemaRef,
    load_data: String,
    insert_prefix: String,
}

/// One worker's connection and its cached statements.
pub(super) struct TableWriter {
    conn: Conn,
    plan: Arc<LoadPlan>,
    statements: Option<Statements>,
}

impl TableWriter {
    pub(super) fn new(conn: Conn, plan: Arc<LoadPlan>) -> Self {
        Self {
            conn,
            plan,
            statements: None,
        }
    }

    /// The statements for `schema`, creating the table first if this is its first batch.
    async fn statements(&mut self, schema: &SchemaRef) -> Result<&Statements> {
        let fresh = match &self.statements {
            Some(s) => s.schema != *schema,
            None => true,
        };
        if fresh {
            let built = build_statements(&self.plan, schema).await?;
            self.statements = Some(built);
        }
        Ok(self.statements.as_ref().expect("set above"))
    }

    fn method(&self) -> LoadMethod {
        match self.plan.method {
            LoadMethod::Auto if self.plan.local_infile_refused.load(Ordering::Relaxed) => {
                LoadMethod::Insert
            }
            method => method,
        }
    }

    async fn load_rows(&mut self, batch: &RecordBatch, rows: std::ops::Range<usize>) -> Result<()> {
        if self.method() != LoadMethod::Insert {
            // Rows are encoded chunk by chunk as the driver streams them to the server, so a
            // writer never holds the whole batch's text. An encoding error ends the stream; the
            // statement then fails and the error kept here is the one reported.
            let failure = Arc::new(std::sync::Mutex::new(None));
            let chunks = load_data_chunks(batch.clone(), rows.clone(), failure.clone());
            self.conn
                .set_infile_handler(async move { Ok(chunks.boxed()) });
            let sql = self
                .statements
                .as_ref()
                .expect("built before loading")
                .load_data
                .clone();
            let result = self.conn.query_drop(sql).await;
            if let Some(e) = failure.lock().ok().and_then(|mut f| f.take()) {
                return Err(self.plan.failed(e));
            }
            match result {
                Ok(()) => return self.check_outcome(rows.len()).await,
                Err(mysql_async::Error::Server(e))
                    if LOCAL_INFILE_REFUSED.contains(&e.code)
                        && self.plan.method == LoadMethod::Auto =>
                {
                    if !self.plan.local_infile_refused.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "{SECTION}: the server refuses LOAD DATA LOCAL INFILE ({}); loading `{}` with INSERT statements instead (slower; enable local_infile on the server for bulk loads)",
                            e.message, self.plan.table_name
                        );
                    }
                }
                Err(e) => return Err(self.plan.endpoint.error(&self.plan.loading(), e)),
            }
        }
        let encoder = BatchEncoder::new(batch).map_err(|e| self.plan.failed(e))?;
        self.insert_rows(&encoder, rows).await
    }

    async fn insert_rows(
        &mut self,
        encoder: &BatchEncoder<'_>,
        rows: std::ops::Range<usize>,
    ) -> Result<()> {
        let prefix = self
            .statements
            .as_ref()
            .expect("built before loading")
            .insert_prefix
            .clone();
        let mut sql = Vec::with_capacity(MAX_INSERT_BYTES + (1 << 20));
        let mut start = rows.start;
        while start < rows.end {
            sql.clear();
            sql.extend_from_slice(prefix.as_bytes());
            let first = start;
            while start < rows.end && sql.len() < MAX_INSERT_BYTES {
                let end = (start + INSERT_ROWS_STEP).min(rows.end);
                if start > first {
                    sql.push(b',');
                }
                encoder
                    .sql_values(start..end, &mut sql)
                    .map_err(|e| self.plan.failed(e))?;
                start = end;
            }
            self.conn
                .query_drop(sql.as_slice())
                .await
                .map_err(|e| self.plan.endpoint.error(&self.plan.loading(), e))?;
            self.check_outcome(start - first).await?;
        }
        Ok(())
    }

    /// Every row must have landed, without a warning (LOAD DATA LOCAL turns conversion errors
    /// and duplicate keys into warnings and skipped rows instead of failing).
    async fn check_outcome(&mut self, rows: usize) -> Result<()> {
        let warnings = self.conn.get_warnings();
        let affected = self.conn.affected_rows();
        if warnings > 0 {
            let shown: Vec<(String, u32, String)> = self
                .conn
                .query("SHOW WARNINGS LIMIT 5")
                .await
                .unwrap_or_default();
            let detail: Vec<String> = shown
                .into_iter()
                .map(|(level, code, message)| format!("{level} {code}: {message}"))
                .collect();
            return Err(self.plan.failed(ConnectorError::Other(format!(
                "the server reported {warnings} problem(s) with the rows: {}",
                detail.join("; ")
            ))));
        }
        // REPLACE counts a replaced row twice; plain loads must count every row once.
        if self.plan.mode == ReplicationMode::FullTable && (affected as usize) < rows {
            return Err(self.plan.failed(ConnectorError::Other(format!(
                "only {affected} of {rows} rows were stored"
            ))));
        }
        Ok(())
    }
}

/// The LOAD DATA text of `rows`, encoded [`LOAD_DATA_CHUNK_ROWS`] rows at a time on demand.
fn load_data_chunks(
    batch: RecordBatch,
    rows: std::ops::Range<usize>,
    failure: Arc<std::sync::Mutex<Option<ConnectorError>>>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let end = rows.end;
    futures_util::stream::unfold(rows.start, move |start| {
        let next = if start >= end {
            None
        } else {
            let stop = (start + LOAD_DATA_CHUNK_ROWS).min(end);
            let mut text = Vec::new();
            let encoded =
                BatchEncoder::new(&batch).and_then(|e| e.load_data(start..stop, &mut text));
            Some(match encoded {
                Ok(()) => (Ok(Bytes::from(text)), stop),
                Err(e) => {
                    if let Ok(mut slot) = failure.lock() {
                        *slot = Some(e);
                    }
                    (
                        Err(std::io::Error::other("the rows could not be encoded")),
                        end,
                    )
                }
            })
        };
        std::future::ready(next)
    })
}

/// Create the table if needed and build the statements loading `schema` into it.
async fn build_statements(plan: &LoadPlan, schema: &SchemaRef) -> Result<Statements> {
    let columns = plan.table_columns(schema).await?;
    let mut targets = Vec::with_capacity(schema.fields().len());
    let mut sets = Vec::new();
    let mut names = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let column = columns
            .iter()
            .find(|c| c.name == *field.name())
            .ok_or_else(|| {
                plan.failed(ConnectorError::Other(format!(
                    "the batches have a column `{}` that the table does not have",
                    field.name()
                )))
            })?;
        let name = quote_ident(field.name());
        names.push(name.clone());
        if loads_as_hex(field.data_type()) {
            targets.push(format!("@v{i}"));
            sets.push(format!("{name} = UNHEX(@v{i})"));
        } else if column.column_type.name == "bit" {
            targets.push(format!("@v{i}"));
            sets.push(format!("{name} = CAST(@v{i} AS UNSIGNED)"));
        } else {
            targets.push(name);
        }
    }
    if let Some(key) = &plan.key {
        if plan.mode == ReplicationMode::Incremental && schema.field_with_name(key).is_err() {
            return Err(plan.failed(ConnectorError::Other(format!(
                "the batches have no key column `{key}` to upsert on"
            ))));
        }
    }
    let (replace, verb) = match plan.mode {
        ReplicationMode::Incremental => (" REPLACE", "REPLACE"),
        ReplicationMode::FullTable => ("", "INSERT"),
    };
    let set_clause = if sets.is_empty() {
        String::new()
    } else {
        format!(" SET {}", sets.join(", "))
    };
    let load_data = format!(
        "LOAD DATA LOCAL INFILE 'fastlane-batch'{replace} INTO TABLE {} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({}){set_clause}",
        plan.load_table_sql,
        targets.join(", ")
    );
    let insert_prefix = format!(
        "{verb} INTO {} ({}) VALUES ",
        plan.load_table_sql,
        names.join(", ")
    );
    Ok(Statements {
        schema: schema.clone(),
        load_data,
        insert_prefix,
    })
}

#[async_trait]
impl Target for TableWriter {
    async fn load(&mut self, batch: RecordBatch) -> Result<()> {
        self.statements(&batch.schema()).await?;
        // INCREMENTAL: a batch is stored whole or not at all, so the table's largest key
        // always marks a fully loaded batch (FULL_TABLE loads a staging table that a failed
        // run drops).
        let atomic = self.plan.mode == ReplicationMode::Incremental && batch.num_rows() > 0;
        if atomic {
            self.conn
                .query_drop("START TRANSACTION")
                .await
                .map_err(|e| self.plan.endpoint.error(&self.plan.loading(), e))?;
        }
        let step = self.plan.batch_size;
        let mut start = 0;
        while start < batch.num_rows() {
            let end = (start + step).min(batch.num_rows());
            if let Err(e) = self.load_rows(&batch, start..end).await {
                if atomic {
                    let _ = self.conn.query_drop("ROLLBACK").await;
                }
                return Err(e);
            }
            start = end;
        }
        if atomic {
            self.conn
                .query_drop("COMMIT")
                .await
                .map_err(|e| self.plan.endpoint.error(&self.plan.loading(), e))?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}
