//! A target worker's writer: batches become `LOAD DATA LOCAL INFILE` statements streamed from
//! memory (or multi-row INSERTs), checked for every row landing without a warning.
//!
//! - A writer that waited longer than the keepalive interval pings its connection first and
//!   reconnects if it is gone (nothing is in flight, so that is always safe).
//! - An INCREMENTAL batch is one transaction; a connection lost during it is retried whole on
//!   a new connection (the upserts are idempotent, and an unacknowledged commit either happened
//!   or not), after checking that the run still holds its lock.
//! - What landed is counted: an INCREMENTAL batch whose upserts replaced rows must leave every
//!   one of its keys in the table (distinct keys merged by the target fail the run), and on a
//!   table with other UNIQUE indexes the rows replaced must be exactly the batch's own keys.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::config::{LoadMethod, SECTION};
use super::encode::{loads_as_hex, BatchEncoder};
use super::{key_check, LoadPlan};
use crate::mysql::catalog::ColumnInfo;
use crate::mysql::connection_lost;
use crate::mysql::types::{declared_column_type, declared_type, quote_ident, text_compare};
use crate::retry::Backoff;
use crate::{ConnectorError, ReplicationMode, Result, Writer};

/// Server errors meaning "LOAD DATA LOCAL is disabled" (MySQL 1148/3948, MariaDB 4166).
const LOCAL_INFILE_REFUSED: [u16; 3] = [1148, 3948, 4166];
/// Largest INSERT statement sent (well under the servers' default max_allowed_packet).
const MAX_INSERT_BYTES: usize = 4 << 20;
/// Rows encoded per piece of a LOAD DATA stream.
const LOAD_DATA_CHUNK_ROWS: usize = 2048;
/// Rows encoded at a time while filling an INSERT statement.
const INSERT_ROWS_STEP: usize = 256;
/// Attempts at an INCREMENTAL batch whose connection was lost (the first one included), and
/// the pauses between them.
const BATCH_ATTEMPTS: u32 = 4;
const RETRY: Backoff =
    Backoff::new(Duration::from_millis(500), Duration::from_secs(5)).attempts(BATCH_ATTEMPTS);
/// Keys per `IN (…)` list when counting what landed.
const KEYS_PER_COUNT: usize = 1000;

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
    /// When the connection last answered.
    last_used: Instant,
    /// Rows the statements of the current batch affected, as the server counts them.
    affected: u64,
    /// The last statement failed because the connection was lost.
    lost: bool,
}

impl TableWriter {
    pub(super) fn new(conn: Conn, plan: Arc<LoadPlan>) -> Self {
        Self {
            conn,
            plan,
            statements: None,
            last_used: Instant::now(),
            affected: 0,
            lost: false,
        }
    }

    /// A driver error while loading, remembering whether it was the connection that failed.
    fn driver_error(&mut self, e: mysql_async::Error) -> ConnectorError {
        self.lost = connection_lost(&e);
        self.plan.endpoint.error(&self.plan.loading(), e)
    }

    /// Run a statement that takes no rows, on this writer's connection.
    async fn execute(&mut self, sql: &str) -> Result<()> {
        match self.conn.query_drop(sql).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.driver_error(e)),
        }
    }

    /// A connection that waited longer than the keepalive interval is pinged first, and
    /// replaced if it is gone (nothing is in flight: always safe).
    async fn ensure_connected(&mut self) -> Result<()> {
        if self.last_used.elapsed() < self.plan.idle_ping {
            return Ok(());
        }
        if let Err(e) = self.conn.ping().await {
            tracing::warn!(
                "{SECTION}: a connection loading `{}` was lost while it waited ({e}); reconnecting",
                self.plan.table_name
            );
            self.reconnect().await?;
        }
        self.last_used = Instant::now();
        Ok(())
    }

    async fn reconnect(&mut self) -> Result<()> {
        self.conn = self.plan.endpoint.connect(true).await?;
        self.last_used = Instant::now();
        Ok(())
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
                Err(e) => return Err(self.driver_error(e)),
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
            if let Err(e) = self.conn.query_drop(sql.as_slice()).await {
                return Err(self.driver_error(e));
            }
            self.check_outcome(start - first).await?;
        }
        Ok(())
    }

    /// Every row must have landed, without a warning (LOAD DATA LOCAL turns conversion errors
    /// and duplicate keys into warnings and skipped rows instead of failing).
    async fn check_outcome(&mut self, rows: usize) -> Result<()> {
        self.last_used = Instant::now();
        let warnings = self.conn.get_warnings();
        let affected = self.conn.affected_rows();
        self.affected += affected;
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
    check_key(plan, schema, &columns)?;
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

/// Refuse a key column that would merge keys the source tells apart (see [`key_check`]).
fn check_key(plan: &LoadPlan, schema: &SchemaRef, columns: &[ColumnInfo]) -> Result<()> {
    let Some(key) = &plan.key else {
        return Ok(());
    };
    let (Ok(field), Some(column)) = (
        schema.field_with_name(key),
        columns.iter().find(|c| &c.name == key),
    ) else {
        return Ok(());
    };
    let Some(why) = key_check::merge_risk(field, column) else {
        return Ok(());
    };
    let source = match (declared_column_type(field), text_compare(field)) {
        (Some(t), Some(text)) => format!("{} COLLATE {}", t.sql(), text.collation),
        (Some(t), None) => t.sql(),
        (None, _) => format!("{} (compared exactly)", field.data_type()),
    };
    let target = match &column.text {
        Some(text) => format!(
            "{} CHARACTER SET {} COLLATE {}",
            column.column_type.sql(),
            text.charset,
            text.collation
        ),
        None => column.column_type.sql(),
    };
    let fix = declared_type(field, true, &plan.exact_collation)
        .map(|t| {
            format!(
                "ALTER TABLE {} MODIFY {} {t} NOT NULL",
                plan.target_table_sql,
                quote_ident(key)
            )
        })
        .unwrap_or_else(|_| "give the column a type that holds the source's keys exactly".into());
    Err(ConnectorError::Other(format!(
        "{SECTION}: key column `{key}` of `{}` would merge keys the source keeps apart: {why}. \
         Source column: {source}; target column: {target}. Nothing was loaded. Fix: {fix}",
        plan.table_name
    )))
}

impl TableWriter {
    /// Load every row of `batch` with as many statements as `batch_size` asks.
    async fn load_statements(&mut self, batch: &RecordBatch) -> Result<()> {
        let step = self.plan.batch_size;
        let mut start = 0;
        while start < batch.num_rows() {
            let end = (start + step).min(batch.num_rows());
            self.load_rows(batch, start..end).await?;
            start = end;
        }
        Ok(())
    }

    /// One INCREMENTAL batch, stored whole or not at all, its outcome counted (see the module
    /// doc); the run's lock is checked before it commits.
    async fn upsert(&mut self, batch: &RecordBatch) -> Result<()> {
        self.lost = false;
        self.execute("START TRANSACTION").await?;
        let result = self.upsert_in_transaction(batch).await;
        if result.is_err() && !self.lost {
            let _ = self.conn.query_drop("ROLLBACK").await;
        }
        result?;
        self.execute("COMMIT").await
    }

    async fn upsert_in_transaction(&mut self, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows() as u64;
        let before = match self.plan.secondary_unique {
            true => Some(self.count_present(batch).await?),
            false => None,
        };
        self.affected = 0;
        self.load_statements(batch).await?;
        // REPLACE counts a new row once and a replaced one twice (deleted, then inserted).
        if self.affected != rows || before.is_some() {
            let present = self.count_present(batch).await?;
            if present < rows {
                return Err(self.plan.failed(ConnectorError::Other(format!(
                    "{rows} rows with distinct keys were sent but only {present} of their keys are in the table afterwards: the table treats some distinct keys as equal (check the key column's type and collation); the batch was rolled back"
                ))));
            }
            if let Some(before) = before {
                let replaced = self.affected.saturating_sub(rows);
                if replaced != before {
                    return Err(self.plan.failed(ConnectorError::Other(format!(
                        "the upserts replaced {replaced} rows but only {before} of the batch's keys were in the table: rows with other keys clashed on another UNIQUE index and would have been deleted; the batch was rolled back"
                    ))));
                }
            }
        }
        self.plan.lock.verify().await
    }

    /// How many of `batch`'s keys the load table holds (as the table compares them).
    async fn count_present(&mut self, batch: &RecordBatch) -> Result<u64> {
        let key = self.plan.key.clone().ok_or_else(|| {
            self.plan.failed(ConnectorError::Other(
                "no key column to count rows by".into(),
            ))
        })?;
        let column = batch.column_by_name(&key).ok_or_else(|| {
            self.plan.failed(ConnectorError::Other(format!(
                "the batches have no key column `{key}`"
            )))
        })?;
        let values = super::key_values::values(column).map_err(|e| self.plan.failed(e))?;
        let mut present = 0u64;
        for chunk in values.chunks(KEYS_PER_COUNT) {
            let sql = format!(
                "SELECT COUNT(*) FROM {} WHERE {} IN ({})",
                self.plan.load_table_sql,
                quote_ident(&key),
                vec!["?"; chunk.len()].join(", ")
            );
            let count: std::result::Result<Option<u64>, _> =
                self.conn.exec_first(sql, chunk.to_vec()).await;
            match count {
                Ok(count) => present += count.unwrap_or(0),
                Err(e) => return Err(self.driver_error(e)),
            }
        }
        Ok(present)
    }
}

#[async_trait]
impl Writer for TableWriter {
    async fn load(&mut self, batch: RecordBatch) -> Result<()> {
        self.statements(&batch.schema()).await?;
        if self.plan.mode == ReplicationMode::FullTable || batch.num_rows() == 0 {
            // FULL_TABLE loads the run's own staging table, dropped if the run fails: a lost
            // connection fails the run rather than guess what its statement stored.
            self.ensure_connected().await?;
            return self.load_statements(&batch).await;
        }
        for attempt in 1..=BATCH_ATTEMPTS {
            self.ensure_connected().await?;
            match self.upsert(&batch).await {
                Ok(()) => return Ok(()),
                Err(e) if self.lost && RETRY.allows(attempt) => {
                    tracing::warn!(
                        "{SECTION}: the connection was lost while loading a batch into `{}` ({e}); loading it again on a new connection (attempt {} of {BATCH_ATTEMPTS})",
                        self.plan.table_name,
                        attempt + 1
                    );
                    tokio::time::sleep(RETRY.delay(attempt)).await;
                    self.plan.lock.verify().await?;
                    if let Err(e) = self.reconnect().await {
                        tracing::warn!("{SECTION}: reconnecting failed: {e}");
                        self.last_used = Instant::now() - self.plan.idle_ping;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(self.plan.failed(ConnectorError::Other(format!(
            "the connection was lost {BATCH_ATTEMPTS} times in a row"
        ))))
    }

    async fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}
