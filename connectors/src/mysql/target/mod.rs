//! The `mysql` target: loads one MySQL/MariaDB table.
//!
//! - **FULL_TABLE**: rows go into the run's staging table (`{table}__fastlane_stage_{tag}`, a copy of the
//!   existing table's definition, or created from the batches' schema); `commit` swaps it in
//!   with one `RENAME TABLE`, so readers see the old table or the new one, never an empty or
//!   partial one, and a failed run leaves the old table untouched. Writers load in parallel.
//! - **INCREMENTAL**: rows are upserted on the key (`REPLACE`), batch by batch in source order
//!   through one writer, each statement atomic; `get_offset` is `MAX(key)`, so a rerun after a
//!   crash resumes after the last loaded batch, losing and duplicating nothing.
//! - Loads are `LOAD DATA LOCAL INFILE` streamed from memory ([`writer`]), with the rows encoded
//!   by [`encode`]; each statement must store every row without a warning.
//! - A run holds an advisory lock (`GET_LOCK`) on the table, so two runs never load it at once;
//!   the connection holding it is kept alive, and a run that loses it fails before it commits
//!   ([`run_lock`]). Under the lock, staging tables of runs that did not finish are dropped.
//! - The key column must tell apart every two keys the source tells apart ([`key_check`]):
//!   created tables take the source's collation, an existing one that would merge keys is
//!   refused before a row moves, and INCREMENTAL loads count what landed.

mod config;
mod encode;
mod key_check;
mod key_values;
mod run_lock;
mod table;
// Against the real server `scripts/services.sh` starts: `--features services`.
#[cfg(all(test, feature = "services"))]
mod service_tests;
mod writer;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::Schema;
use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::Value;
use run_lock::{KeepAlive, RunLock};
use tokio::sync::Mutex;

use config::SECTION;
pub use config::{Config, LoadMethod};

use crate::mysql::catalog::ColumnInfo;
use crate::mysql::types::quote_ident;
use crate::mysql::Endpoint;
use crate::{
    ConnectorError, Offset, ReplicationMode, Result, Target, TargetConnector, TargetContext, Writer,
};

#[async_trait]
impl TargetConnector for MySqlTarget {
    type Config = Config;

    /// Connect, take the run's lock, check the table and key, and prepare the staging table.
    async fn open(config: Config, context: TargetContext) -> Result<Self> {
        config.check()?;
        let endpoint = config.endpoint()?;
        let lock = RunLock::acquire(&endpoint, &config.table).await?;
        let table_name = format!("{}.{}", endpoint.db, config.table);
        let mut control = lock.conn().await?;
        let existing = table::columns(&mut control, &endpoint, &config.table).await?;
        let key = resolve_key(
            &config,
            context.replication_mode,
            existing.as_deref(),
            &table_name,
        )?;
        if existing.is_none() && !config.create_table {
            return Err(ConnectorError::config(
                format!("{SECTION}.table"),
                format!(
                    "table `{table_name}` does not exist at {} and `create_table` is false",
                    endpoint.describe()
                ),
            ));
        }
        let exact_collation = table::exact_collation(&mut control, &endpoint).await?;
        // The lock makes every leftover staging table a crashed run's: drop them.
        for leftover in table::leftovers(&mut control, &endpoint, &config.table).await? {
            tracing::warn!("{SECTION}: dropping `{leftover}`, left by an earlier run of `{table_name}` that did not finish");
            control
                .query_drop(format!(
                    "DROP TABLE IF EXISTS {}",
                    table::qualified(&endpoint, &leftover)
                ))
                .await
                .map_err(|e| endpoint.error("dropping a previous run's staging table", e))?;
        }
        let secondary_unique = match &existing {
            Some(_) => table::has_secondary_unique(&mut control, &endpoint, &config.table).await?,
            None => false,
        };
        let (load_table, columns) = match context.replication_mode {
            ReplicationMode::Incremental => (config.table.clone(), existing.clone()),
            ReplicationMode::FullTable => {
                let stage = table::stage_name(&config.table, &run_tag(&context.run_id));
                let columns = if existing.is_some() {
                    control
                        .query_drop(format!(
                            "CREATE TABLE {} LIKE {}",
                            table::qualified(&endpoint, &stage),
                            table::qualified(&endpoint, &config.table)
                        ))
                        .await
                        .map_err(|e| endpoint.error("creating the staging table", e))?;
                    table::columns(&mut control, &endpoint, &stage).await?
                } else {
                    None
                };
                (stage, columns)
            }
        };
        drop(control);
        if context.replication_mode == ReplicationMode::FullTable && columns.is_some() {
            lock.guard_stage(load_table.clone());
        }
        let workers = match context.replication_mode {
            ReplicationMode::FullTable => config.concurrency,
            ReplicationMode::Incremental => {
                if config.concurrency > 1 {
                    tracing::info!("{SECTION}: INCREMENTAL runs load through one writer, in key order (concurrency {} applies to FULL_TABLE runs)", config.concurrency);
                }
                1
            }
        };
        let lock = Arc::new(lock);
        let idle_ping = Duration::from_secs(config.keepalive_s);
        let keepalive = lock.keep_alive(idle_ping);
        let plan = LoadPlan {
            load_table_sql: table::qualified(&endpoint, &load_table),
            load_table,
            mode: context.replication_mode,
            method: config.load_method,
            batch_size: config.batch_size,
            target_table_sql: table::qualified(&endpoint, &config.table),
            table_name,
            key,
            columns: Mutex::new(columns),
            lock,
            exact_collation,
            secondary_unique,
            idle_ping,
            local_infile_refused: AtomicBool::new(false),
            endpoint,
        };
        Ok(Self {
            plan: Arc::new(plan),
            table: config.table,
            workers,
            _keepalive: keepalive,
        })
    }
}

/// What every writer of a run shares: where rows go, and the table's columns once it exists.
pub(super) struct LoadPlan {
    endpoint: Endpoint,
    mode: ReplicationMode,
    method: LoadMethod,
    batch_size: usize,
    /// `db.table`, for messages.
    table_name: String,
    /// The run's table, quoted (`db`.`table`).
    target_table_sql: String,
    /// The table's key column.
    key: Option<String>,
    /// The table rows are loaded into (the run's staging table in FULL_TABLE runs), quoted.
    load_table_sql: String,
    load_table: String,
    /// Columns of the load table; `None` until it exists.
    columns: Mutex<Option<Vec<ColumnInfo>>>,
    /// The run's lock on the table, and the connection holding it (which also runs the DDL).
    lock: Arc<RunLock>,
    /// The collation a text key of a non-MySQL source is created with.
    exact_collation: String,
    /// The table has a UNIQUE index besides its primary key: an upsert may delete a row it
    /// clashes with there, so INCREMENTAL loads count the rows they replace exactly.
    secondary_unique: bool,
    /// A writer idle this long pings its connection before loading (and reconnects if it is
    /// gone).
    idle_ping: Duration,
    /// Set once the server refused LOAD DATA LOCAL (auto method: INSERT from then on).
    local_infile_refused: AtomicBool,
}

impl LoadPlan {
    /// `loading into `db.table``, for errors.
    fn loading(&self) -> String {
        format!("loading into `{}`", self.table_name)
    }

    /// A load error, with the section and table.
    fn failed(&self, e: ConnectorError) -> ConnectorError {
        ConnectorError::Other(format!("{SECTION}: {}: {e}", self.loading()))
    }

    /// Columns of the load table, creating it from `schema` on the first batch if missing.
    async fn table_columns(&self, schema: &Schema) -> Result<Vec<ColumnInfo>> {
        let mut columns = self.columns.lock().await;
        if let Some(existing) = columns.as_ref() {
            return Ok(existing.clone());
        }
        let key = self.key.as_deref().or_else(|| crate::marked_key(schema));
        if key.is_none() && self.mode == ReplicationMode::Incremental {
            return Err(ConnectorError::config(
                format!("{SECTION}.key"),
                format!("INCREMENTAL runs need a key to create `{}` with: name the column (the source marks none)", self.table_name),
            ));
        }
        let sql = table::create_sql(
            &self.load_table_sql,
            schema,
            key,
            &self.table_name,
            &self.exact_collation,
        )?;
        let mut control = self.lock.conn().await?;
        control.query_drop(sql).await.map_err(|e| {
            self.endpoint
                .error(&format!("creating `{}`", self.table_name), e)
        })?;
        tracing::info!(
            "{SECTION}: created `{}.{}` from the batches' columns",
            self.endpoint.db,
            self.load_table
        );
        let created = table::columns(&mut control, &self.endpoint, &self.load_table)
            .await?
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "{SECTION}: `{}` vanished after it was created",
                    self.load_table
                ))
            })?;
        if self.mode == ReplicationMode::FullTable {
            self.lock.guard_stage(self.load_table.clone());
        }
        *columns = Some(created.clone());
        Ok(created)
    }
}

/// The configured table of a run.
pub struct MySqlTarget {
    plan: Arc<LoadPlan>,
    table: String,
    workers: usize,
    _keepalive: KeepAlive,
}

/// A short tag of the run id, naming the run's staging table.
fn run_tag(run_id: &str) -> String {
    // FNV-1a: stable, and different run ids get different tags.
    let hash = run_id.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// The key column: configured, or the existing table's single-column primary key.
fn resolve_key(
    config: &Config,
    mode: ReplicationMode,
    existing: Option<&[ColumnInfo]>,
    table_name: &str,
) -> Result<Option<String>> {
    let path = format!("{SECTION}.key");
    let primary: Vec<&str> = existing
        .unwrap_or_default()
        .iter()
        .filter(|c| c.primary)
        .map(|c| c.name.as_str())
        .collect();
    if let (Some(key), Some(columns)) = (&config.key, existing) {
        if !columns.iter().any(|c| &c.name == key) {
            return Err(ConnectorError::config(
                path,
                format!("table `{table_name}` has no column `{key}`"),
            ));
        }
        if mode == ReplicationMode::Incremental && primary != [key.as_str()] {
            return Err(ConnectorError::config(
                path,
                format!("INCREMENTAL runs upsert on the primary key, and the primary key of `{table_name}` is ({}), not `{key}`", primary.join(", ")),
            ));
        }
    }
    let key = config
        .key
        .clone()
        .or_else(|| (primary.len() == 1).then(|| primary[0].to_string()));
    // A table still to be created takes the key the source marks in the batches' schema.
    if key.is_none() && mode == ReplicationMode::Incremental && existing.is_some() {
        return Err(ConnectorError::config(
            path,
            format!("INCREMENTAL runs need a key: name the column (`{table_name}` has no single-column primary key)"),
        ));
    }
    Ok(key)
}

#[async_trait]
impl Target for MySqlTarget {
    fn target_id(&self) -> String {
        self.plan.table_name.clone()
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn needs_order(&self) -> bool {
        self.plan.mode == ReplicationMode::Incremental
    }

    async fn get_offset(&self) -> Result<Option<Offset>> {
        let Some(key) = &self.plan.key else {
            return Ok(None);
        };
        if self.plan.columns.lock().await.is_none() {
            return Ok(None);
        }
        let mut control = self.plan.lock.conn().await?;
        let sql = format!(
            "SELECT MAX({}) FROM {}",
            quote_ident(key),
            self.plan.load_table_sql
        );
        let max: Option<Value> = control
            .query_first(sql)
            .await
            .map_err(|e| self.plan.endpoint.error("reading the largest key", e))?;
        Ok(match max {
            None | Some(Value::NULL) => None,
            Some(Value::Int(v)) => Some(Offset::Int(v)),
            Some(Value::UInt(v)) => Some(i64::try_from(v).map_or(Offset::UInt(v), Offset::Int)),
            Some(Value::Bytes(b)) => Some(match String::from_utf8(b) {
                // The text protocol sends numbers as text too.
                Ok(text) => text
                    .parse::<i64>()
                    .map(Offset::Int)
                    .or_else(|_| text.parse::<u64>().map(Offset::UInt))
                    .unwrap_or(Offset::Text(text)),
                Err(_) => {
                    return Err(ConnectorError::Other(format!(
                        "{SECTION}: the largest key of `{}` is not text; INCREMENTAL needs an integer or string key",
                        self.plan.table_name
                    )))
                }
            }),
            Some(other) => {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: the key of `{}` holds {other:?}; INCREMENTAL needs an integer or string key",
                    self.plan.table_name
                )))
            }
        })
    }

    async fn writer(&self, _worker: usize) -> Result<Box<dyn Writer>> {
        let conn = self.plan.endpoint.connect(true).await?;
        Ok(Box::new(writer::TableWriter::new(conn, self.plan.clone())))
    }

    async fn commit(&self) -> Result<()> {
        let plan = &self.plan;
        // The load table exists once a batch (or an existing table's copy) created it; read
        // before taking the control connection, in the same lock order as the writers.
        let staged = plan.columns.lock().await.is_some();
        // Nothing is made visible by a run that no longer holds its lock.
        plan.lock.verify().await?;
        let mut control = plan.lock.conn().await?;
        if plan.mode == ReplicationMode::FullTable {
            if !staged {
                tracing::warn!(
                    "{SECTION}: no batch reached the target; `{}` was not created",
                    plan.table_name
                );
            } else {
                let target = table::qualified(&plan.endpoint, &self.table);
                let old = table::qualified(
                    &plan.endpoint,
                    &table::derived_name(&self.table, table::OLD_SUFFIX),
                );
                let exists = table::columns(&mut control, &plan.endpoint, &self.table)
                    .await?
                    .is_some();
                let swap = if exists {
                    format!(
                        "RENAME TABLE {target} TO {old}, {} TO {target}",
                        plan.load_table_sql
                    )
                } else {
                    format!("RENAME TABLE {} TO {target}", plan.load_table_sql)
                };
                control
                    .query_drop(swap)
                    .await
                    .map_err(|e| plan.endpoint.error("swapping in the loaded table", e))?;
                if exists {
                    control
                        .query_drop(format!("DROP TABLE {old}"))
                        .await
                        .map_err(|e| plan.endpoint.error("dropping the replaced table", e))?;
                }
            }
        }
        drop(control);
        plan.lock.release().await;
        Ok(())
    }

    async fn abort(&self) -> Result<()> {
        let plan = &self.plan;
        // A run that lost its lock leaves the staging table to the run that holds it now (it
        // drops every leftover when it starts); its own tables were named for it alone.
        if plan.lock.check().is_ok() && plan.mode == ReplicationMode::FullTable {
            let mut control = plan.lock.conn().await?;
            control
                .query_drop(format!("DROP TABLE IF EXISTS {}", plan.load_table_sql))
                .await
                .map_err(|e| plan.endpoint.error("dropping the staging table", e))?;
        }
        plan.lock.release().await;
        Ok(())
    }
}
