//! The `mysql` target's settings.

use crate::{ConnectorConfig, ReplicationMode, SecretField};
use serde::{Deserialize, Serialize};

use crate::mysql::{self, Endpoint, EndpointKeys, Tls};
use crate::{ConnectorError, Result};

/// Where the section sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "target.mysql";

/// Loads into one table: FULL_TABLE through a staging table swapped in atomically at the end,
/// INCREMENTAL as idempotent upserts on the key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mysql target")]
pub struct Config {
    /// Server host name or IP address.
    #[schemars(length(min = 1))]
    pub host: String,
    /// Server port.
    #[serde(default = "mysql::default_port")]
    #[schemars(range(min = 1))]
    pub port: u16,
    /// User name.
    #[schemars(length(min = 1))]
    pub username: String,
    /// Password (write `${ENV_VAR}` to keep it out of the file).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// Name of an environment variable holding the password (instead of `password`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub password_env: Option<String>,
    /// Database (schema) holding the table.
    #[schemars(length(min = 1))]
    pub db: String,
    /// Table to load; created from the batches' columns when missing.
    #[schemars(length(min = 1))]
    pub table: String,
    /// Key column: the primary key of a created table, the upsert key and the INCREMENTAL
    /// offset (`MAX(key)`). Default: the existing table's single-column primary key.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub key: Option<String>,
    /// Largest number of rows sent in one load statement (a record batch may be split).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub batch_size: usize,
    /// Writers loading in parallel, each on its own connection (FULL_TABLE runs; INCREMENTAL
    /// runs load through one writer so the table's largest key is always a safe resume point).
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: usize,
    /// Create the table when it does not exist (with `false`, a missing table is an error).
    #[serde(default = "default_create_table")]
    pub create_table: bool,
    /// `auto` (default): `LOAD DATA LOCAL INFILE` streamed from memory, falling back to
    /// multi-row INSERTs when the server refuses local infile; `load_data` or `insert` to force one.
    #[serde(default)]
    pub load_method: LoadMethod,
    /// TLS; without it the connection is not encrypted.
    #[serde(default)]
    pub tls: Option<Tls>,
    /// Seconds between two pings of a connection that waits (the one holding the run's lock,
    /// a writer between batches), so that neither the server nor a proxy, load balancer or NAT
    /// drops it as idle.
    #[serde(default = "default_keepalive_s")]
    #[schemars(range(min = 1, max = 3600))]
    pub keepalive_s: u64,
    /// Seconds to wait for the server to accept a connection.
    #[serde(default = "mysql::default_connect_timeout")]
    #[schemars(range(min = 1, max = 86_400))]
    pub connect_timeout_s: u64,
}

/// How rows are sent to the server.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum LoadMethod {
    /// LOAD DATA LOCAL INFILE, or INSERT when the server refuses it.
    #[default]
    Auto,
    /// Only LOAD DATA LOCAL INFILE.
    LoadData,
    /// Only multi-row INSERT statements.
    Insert,
}

fn default_batch_size() -> usize {
    50_000
}
fn default_concurrency() -> usize {
    2
}
fn default_keepalive_s() -> u64 {
    30
}
fn default_create_table() -> bool {
    true
}

impl Config {
    /// The checked connection settings.
    pub(super) fn endpoint(&self) -> Result<Endpoint> {
        Endpoint::new(
            SECTION,
            EndpointKeys {
                host: &self.host,
                port: self.port,
                username: &self.username,
                password: self.password.as_deref(),
                password_env: self.password_env.as_deref(),
                db: &self.db,
                tls: self.tls.as_ref(),
                connect_timeout_s: self.connect_timeout_s,
            },
        )
    }

    /// Check what serde cannot; errors name the key.
    pub(super) fn check(&self) -> Result<()> {
        let key = |k: &str| format!("{SECTION}.{k}");
        if self.table.trim().is_empty() {
            return Err(ConnectorError::config(key("table"), "must not be empty"));
        }
        if self.key.as_deref().is_some_and(|k| k.trim().is_empty()) {
            return Err(ConnectorError::config(key("key"), "must not be empty"));
        }
        if self.batch_size == 0 {
            return Err(ConnectorError::config(
                key("batch_size"),
                "must be at least 1",
            ));
        }
        if !(1..=3600).contains(&self.keepalive_s) {
            return Err(ConnectorError::config(
                key("keepalive_s"),
                "must be between 1 and 3600",
            ));
        }
        if self.concurrency == 0 || self.concurrency > 64 {
            return Err(ConnectorError::config(
                key("concurrency"),
                "must be between 1 and 64",
            ));
        }
        Ok(())
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str = "Load a MySQL/MariaDB table: FULL_TABLE swapped in atomically, INCREMENTAL upserts; LOAD DATA LOCAL bulk loads";
    const SECRET_FIELDS: &'static [SecretField] = crate::mysql::SECRET_FIELDS;

    fn id(&self) -> String {
        format!("{}.{}", self.db, self.table)
    }

    fn check_for(&self, _mode: ReplicationMode) -> Result<()> {
        self.check()?;
        self.endpoint().map(|_| ())
    }
}
