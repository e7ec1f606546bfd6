//! The `mysql` source's settings (the original fastlane's keys, plus `where`, `columns`,
//! `concurrency` and TLS).

use crate::{ConnectorConfig, ReplicationMode, SecretField};
use serde::{Deserialize, Serialize};

use crate::mysql::{self, Endpoint, EndpointKeys, Tls};
use crate::{ConnectorError, Result};

/// Where the section sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "source.mysql";

/// Reads one table in key order, in a consistent snapshot, with keyset pagination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mysql source")]
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
    /// Table to read.
    #[schemars(length(min = 1))]
    pub table: String,
    /// Column the rows are read in order of (`WHERE key > ? ORDER BY key`): a unique, indexed
    /// integer or string column, normally the primary key. INCREMENTAL runs resume after the
    /// target's largest key.
    #[schemars(length(min = 1))]
    pub key: String,
    /// Rows per page (one `SELECT … LIMIT batch_size` per record batch).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 16_777_216))]
    pub batch_size: usize,
    /// Start after this key (a number or a string). An INCREMENTAL run resumes after the
    /// target's largest key instead, when the target has rows.
    #[serde(default)]
    pub offset: Option<serde_json::Value>,
    /// Extra SQL condition on the rows read (`status = 'paid'`); combined with the key range.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
    /// Columns to read, in this order (default: every column). The key is always read.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Connections reading disjoint key ranges in parallel.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: usize,
    /// TLS; without it the connection is not encrypted.
    #[serde(default)]
    pub tls: Option<Tls>,
    /// Seconds to wait for the server to accept a connection.
    #[serde(default = "mysql::default_connect_timeout")]
    #[schemars(range(min = 1, max = 86_400))]
    pub connect_timeout_s: u64,
}

fn default_batch_size() -> usize {
    // Memory is batch size × batches in flight; 10 000 rows keeps a run of wide rows within
    // ~150 MiB while pages stay large enough for full speed.
    10_000
}
fn default_concurrency() -> usize {
    1
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
        for (name, value) in [("table", &self.table), ("key", &self.key)] {
            if value.trim().is_empty() {
                return Err(ConnectorError::config(key(name), "must not be empty"));
            }
        }
        if self.batch_size == 0 || self.batch_size > 16_777_216 {
            return Err(ConnectorError::config(
                key("batch_size"),
                "must be between 1 and 16777216",
            ));
        }
        if self.concurrency == 0 || self.concurrency > 64 {
            return Err(ConnectorError::config(
                key("concurrency"),
                "must be between 1 and 64",
            ));
        }
        if let Some(offset) = &self.offset {
            if !(offset.is_number() || offset.is_string()) {
                return Err(ConnectorError::config(
                    key("offset"),
                    "must be a number or a string",
                ));
            }
        }
        if self.filter.as_deref().is_some_and(|f| f.trim().is_empty()) {
            return Err(ConnectorError::config(key("where"), "must not be empty"));
        }
        if let Some(columns) = &self.columns {
            if columns.is_empty() {
                return Err(ConnectorError::config(
                    key("columns"),
                    "must name at least one column",
                ));
            }
        }
        Ok(())
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str = "Read a MySQL/MariaDB table in key order: consistent snapshot, keyset pages, parallel key ranges";
    const SECRET_FIELDS: &'static [SecretField] = crate::mysql::SECRET_FIELDS;

    fn id(&self) -> String {
        format!("{}.{}", self.db, self.table)
    }

    fn check_for(&self, _mode: ReplicationMode) -> Result<()> {
        self.check()?;
        self.endpoint().map(|_| ())
    }
}
