//! The `mongodb` source's settings: the original fastlane's keys (`host`, `port`, `user`,
//! `password`, `database`, `collection`, `batch_size`, `replication_key`, `filter_fields`,
//! `offset`), plus a connection `uri`, `password_env`, `auth_source`, a JSON `filter`, a
//! `projection`, the schema (`sample_size`, `schema`, `nested`) and `on_mismatch`.

use crate::{ConnectorConfig, ReplicationMode, SecretField};
use std::time::Duration;

use mongodb::bson::Document;
use mongodb::options::{ClientOptions, ServerAddress};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::filter::{extended_json_document, filter_field};
use crate::{ConnectorError, Result};

/// Where the section sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "source.mongodb";

/// MongoDB's default port.
const DEFAULT_PORT: u16 = 27017;
/// Seconds to wait for a server when the config and the URI say nothing.
const DEFAULT_TIMEOUT_S: u64 = 10;

/// Reads one collection in replication-key order, page by page (`$gt` the last key, sorted,
/// limited), into Arrow columns inferred from a sample or declared in `schema`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mongodb source")]
pub struct Config {
    /// Connection string (`mongodb://h1:27017,h2:27017/?replicaSet=rs0&tls=true`,
    /// `mongodb+srv://cluster.example.net`), instead of `host` and `port`. TLS (`tls=true`,
    /// `tlsCAFile=…`), replica sets, read preference and the driver's other options are set
    /// here. Credentials may be in it or in `user` and `password`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub uri: Option<String>,
    /// Server host name or IP address (instead of `uri`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub host: Option<String>,
    /// Server port, with `host` (default 27017).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// User name (SCRAM authentication); without it the connection is not authenticated.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub user: Option<String>,
    /// Password of `user` (write `${ENV_VAR}` to keep it out of the file).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// Name of an environment variable holding the password (instead of `password`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub password_env: Option<String>,
    /// Database where `user` is defined. Default: `admin`, MongoDB's own default, where users
    /// are usually created (with `uri`: the URI's `authSource`, else its database, else
    /// `admin`). Set it to `database` when the user was created in the data's database.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub auth_source: Option<String>,
    /// Database holding the collection.
    #[schemars(length(min = 1))]
    pub database: String,
    /// Collection to read; an error if it does not exist.
    #[schemars(length(min = 1))]
    pub collection: String,
    /// Documents per page: one `find … sort … limit batch_size` per record batch.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 16_777_216))]
    pub batch_size: usize,
    /// Field the documents are read in order of (`{key: {$gt: last}}`, sorted by it): unique,
    /// indexed, and of one BSON type in every document (objectId, string, integer or date),
    /// like `_id`. Documents lacking it, or holding another type in it, are not read (`$gt`
    /// never returns them). INCREMENTAL runs resume after the target's largest key.
    #[serde(default = "default_replication_key")]
    #[schemars(length(min = 1))]
    pub replication_key: String,
    /// The original fastlane's filters: a list of `[field, operator_or_value, value_or_"None",
    /// literal_flag]`. With `"None"` third, `{field: operator_or_value}` (equality); else
    /// `{field: {operator: value}}` (`["qty", "$gte", 10, 0]`). With literal_flag 1 a string
    /// value is parsed as a JSON literal (`["tag", "$in", "[\"a\", \"b\"]", 1]`); the original
    /// evaluated it as Python, fastlane only parses JSON (and `True`, `False`, `None`). Values
    /// may use MongoDB extended JSON (`{"$oid": "…"}`, `{"$date": "…"}`). Combined with `$and`.
    #[serde(default)]
    pub filter_fields: Option<Vec<Vec<Value>>>,
    /// A query filter in MongoDB extended JSON (`{"status": "paid", "created": {"$gte":
    /// {"$date": "2024-01-01T00:00:00Z"}}}`), combined with `$and` with `filter_fields` and the
    /// key range.
    #[serde(default)]
    pub filter: Option<serde_json::Map<String, Value>>,
    /// Top-level fields to read (default: all). The replication key is always read; `_id` only
    /// when listed (or when it is the key).
    #[serde(default)]
    pub projection: Option<Vec<String>>,
    /// Start after this key: a number for integer keys, a string for string keys, 24 hex
    /// digits for ObjectId keys, an RFC 3339 string or epoch milliseconds for date keys. An
    /// INCREMENTAL run resumes after the target's largest key instead, when the target has
    /// rows.
    #[serde(default)]
    pub offset: Option<Value>,
    /// Documents read (first in key order, after the filter) to infer the columns when no
    /// `schema` is given. A field first seen after the sample, or a value of another type,
    /// follows `on_mismatch`: by default the run fails naming the document and the field
    /// (raise this, or declare the columns in `schema`); with `"null"` it is left out and
    /// counted.
    #[serde(default = "default_sample_size")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub sample_size: usize,
    /// The columns, instead of inferring them: an object of field → type, in column order.
    /// Types: `objectid` (read as 24 hex digits), `string`, `int32`, `int64`, `double`,
    /// `bool`, `date`, `timestamp`, `decimal(p,s)`, `binary`, `json` (any value as relaxed
    /// extended JSON text); `["type"]` is a list, `{…}` a nested document. Example: `{"_id":
    /// "objectid", "qty": "int64", "price": "decimal(18,2)", "tags": ["string"], "address":
    /// {"city": "string"}}`. It must include the replication key. Without `projection`, only
    /// these fields are fetched.
    #[serde(default)]
    pub schema: Option<serde_json::Map<String, Value>>,
    /// How inferred nested documents and arrays are read: `struct` (Struct and List columns)
    /// or `json` (a string column of relaxed extended JSON).
    #[serde(default)]
    pub nested: Nested,
    /// A value that does not fit its column (a string where int64 is expected): `fail` stops
    /// the run naming the document's `_id` and the field; `null` reads it as null, and the run
    /// logs how many values each field lost.
    #[serde(default)]
    pub on_mismatch: OnMismatch,
    /// Seconds to wait for a server to answer (server selection and connecting); default 10,
    /// or the URI's `serverSelectionTimeoutMS`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 86_400))]
    pub connect_timeout_s: Option<u64>,
    /// Seconds to wait for one answer of the server while reading (a page, or the next part
    /// of one); the driver itself waits forever on a server that stops answering.
    #[serde(default = "default_read_timeout_s")]
    #[schemars(range(min = 1, max = 86_400))]
    pub read_timeout_s: u64,
}

/// How nested documents and arrays are read.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Nested {
    /// Struct columns for documents, List columns for arrays.
    #[default]
    Struct,
    /// A Utf8 column of relaxed extended JSON.
    Json,
}

/// What happens to a value that does not fit its column.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum OnMismatch {
    /// The run fails, naming the collection, the document's `_id`, the field and both types.
    #[default]
    Fail,
    /// The value is read as null; a warning at the end counts such values per field.
    Null,
}

fn default_batch_size() -> usize {
    10_000
}
fn default_read_timeout_s() -> u64 {
    300
}
fn default_replication_key() -> String {
    "_id".to_string()
}
fn default_sample_size() -> usize {
    1_000
}

fn key(name: &str) -> String {
    format!("{SECTION}.{name}")
}

impl Config {
    /// Check what serde cannot; errors name the key.
    pub(super) fn check(&self) -> Result<()> {
        self.check_connection()?;
        for (name, value) in [
            ("database", &self.database),
            ("collection", &self.collection),
            ("replication_key", &self.replication_key),
        ] {
            if value.trim().is_empty() {
                return Err(ConnectorError::config(key(name), "must not be empty"));
            }
        }
        if self.replication_key.contains('.') || self.replication_key.starts_with('$') {
            return Err(ConnectorError::config(
                key("replication_key"),
                "must be a top-level field name",
            ));
        }
        if self.batch_size == 0 || self.batch_size > 16_777_216 {
            return Err(ConnectorError::config(
                key("batch_size"),
                "must be between 1 and 16777216",
            ));
        }
        if self.sample_size == 0 && self.schema.is_none() {
            return Err(ConnectorError::config(
                key("sample_size"),
                "must be at least 1 (or declare the columns in `schema`)",
            ));
        }
        if self.connect_timeout_s == Some(0) {
            return Err(ConnectorError::config(
                key("connect_timeout_s"),
                "must be at least 1",
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
        if let Some(fields) = &self.projection {
            if fields.is_empty() {
                return Err(ConnectorError::config(
                    key("projection"),
                    "must name at least one field",
                ));
            }
            for (i, field) in fields.iter().enumerate() {
                if field.is_empty() || field.starts_with('$') || field.contains('.') {
                    return Err(ConnectorError::config(
                        format!("{SECTION}.projection[{i}]"),
                        format!("`{field}` is not a top-level field name"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The conditions every read applies, to be combined with `$and`: `filter`, then each
    /// `filter_fields` entry.
    pub(super) fn conditions(&self) -> Result<Vec<Document>> {
        let mut conditions = Vec::new();
        if let Some(filter) = &self.filter {
            if !filter.is_empty() {
                conditions.push(extended_json_document(
                    Value::Object(filter.clone()),
                    &key("filter"),
                )?);
            }
        }
        for (i, entry) in self.filter_fields.iter().flatten().enumerate() {
            conditions.push(filter_field(
                entry,
                &format!("{SECTION}.filter_fields[{i}]"),
            )?);
        }
        Ok(conditions)
    }

    /// The `find` projection: the listed fields, or the declared schema's; the key always.
    pub(super) fn projection(&self, declared: Option<&[String]>) -> Result<Option<Document>> {
        let fields: Vec<&String> = match (&self.projection, declared) {
            (Some(listed), Some(declared)) => {
                if let Some(missing) = declared
                    .iter()
                    .find(|d| **d != self.replication_key && !listed.contains(*d))
                {
                    return Err(ConnectorError::config(
                        key("schema"),
                        format!("declares `{missing}`, which `projection` does not read"),
                    ));
                }
                listed.iter().collect()
            }
            (Some(listed), None) => listed.iter().collect(),
            (None, Some(declared)) => declared.iter().collect(),
            (None, None) => return Ok(None),
        };
        let mut projection = Document::new();
        projection.insert(self.replication_key.clone(), 1);
        for field in fields {
            projection.insert(field.clone(), 1);
        }
        if !projection.contains_key("_id") {
            projection.insert("_id", 0);
        }
        Ok(Some(projection))
    }

    /// The password, from `password` or `password_env`.
    fn password(&self) -> Result<Option<String>> {
        match (&self.password, &self.password_env) {
            (Some(_), Some(_)) => Err(ConnectorError::config(
                key("password_env"),
                "give either `password` or `password_env`, not both",
            )),
            (Some(p), None) => Ok(Some(p.clone())),
            (None, Some(var)) => std::env::var(var).map(Some).map_err(|_| {
                ConnectorError::config(
                    key("password_env"),
                    format!("environment variable `{var}` is not set"),
                )
            }),
            (None, None) => Ok(None),
        }
    }

    /// The checked connection settings (a `mongodb+srv` URI is resolved here).
    /// Check the connection keys without connecting: a host or a URI (one of them), the
    /// credentials in one place, `auth_source` only with credentials.
    fn check_connection(&self) -> Result<()> {
        let password = self.password()?;
        let uri_names_user = match (&self.uri, &self.host) {
            (Some(_), Some(_)) => {
                return Err(ConnectorError::config(
                    key("host"),
                    "give either `uri` or `host`, not both",
                ))
            }
            (None, None) => {
                return Err(ConnectorError::config(
                    SECTION,
                    "give the server's `host` (and `port`) or a connection `uri`",
                ))
            }
            (Some(uri), None) => {
                if self.port.is_some() {
                    return Err(ConnectorError::config(
                        key("port"),
                        "with `uri`, the port goes in the URI",
                    ));
                }
                let parsed = mongodb::options::ConnectionString::parse(uri).map_err(|e| {
                    ConnectorError::config(
                        key("uri"),
                        format!("not a usable MongoDB connection string: {}", e.kind),
                    )
                })?;
                parsed
                    .credential
                    .as_ref()
                    .is_some_and(|c| c.username.is_some())
            }
            (None, Some(host)) => {
                if host.trim().is_empty() {
                    return Err(ConnectorError::config(key("host"), "must not be empty"));
                }
                false
            }
        };
        match (&self.user, &password) {
            (Some(_), Some(_)) if uri_names_user => Err(ConnectorError::config(
                key("user"),
                "the uri already names a user: give the credentials in one place",
            )),
            (Some(_), None) => Err(ConnectorError::config(
                key("password"),
                "`user` needs a `password` (or `password_env`)",
            )),
            (None, Some(_)) => Err(ConnectorError::config(
                key("user"),
                "a password is given without `user`",
            )),
            _ if self.auth_source.is_some() && self.user.is_none() && !uri_names_user => {
                Err(ConnectorError::config(
                    key("auth_source"),
                    "only applies with credentials (`user` and `password`)",
                ))
            }
            _ => Ok(()),
        }
    }

    pub(super) async fn endpoint(&self) -> Result<Endpoint> {
        self.check_connection()?;
        let password = self.password()?;
        let configured_timeout = self.connect_timeout_s.map(Duration::from_secs);
        let mut options = match (&self.uri, &self.host) {
            (Some(uri), _) => ClientOptions::parse(uri.as_str()).await.map_err(|e| {
                ConnectorError::config(
                    key("uri"),
                    format!("not a usable MongoDB connection string: {}", e.kind),
                )
            })?,
            (None, host) => ClientOptions::builder()
                .hosts(vec![ServerAddress::Tcp {
                    host: host.as_deref().unwrap_or_default().trim().to_string(),
                    port: Some(self.port.unwrap_or(DEFAULT_PORT)),
                }])
                .build(),
        };
        if let (Some(user), Some(password)) = (&self.user, password) {
            let mut credential = options.credential.take().unwrap_or_default();
            credential.username = Some(user.clone());
            credential.password = Some(password);
            if credential.source.is_none() {
                credential.source = Some(
                    options
                        .default_database
                        .clone()
                        .unwrap_or_else(|| "admin".to_string()),
                );
            }
            options.credential = Some(credential);
        }
        if let (Some(source), Some(credential)) = (&self.auth_source, options.credential.as_mut()) {
            credential.source = Some(source.clone());
        }
        let timeout = configured_timeout
            .or(options.server_selection_timeout)
            .unwrap_or(Duration::from_secs(DEFAULT_TIMEOUT_S));
        options.server_selection_timeout = Some(timeout);
        if configured_timeout.is_some() || options.connect_timeout.is_none() {
            options.connect_timeout = Some(timeout);
        }
        if options.app_name.is_none() {
            options.app_name = Some("fastlane".to_string());
        }
        let hosts = options
            .hosts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let (user, auth_source) = match &options.credential {
            Some(c) => (
                c.username.clone(),
                c.source.clone().unwrap_or_else(|| "admin".to_string()),
            ),
            None => (None, String::new()),
        };
        Ok(Endpoint {
            options,
            hosts,
            user,
            auth_source,
            timeout,
        })
    }
}

/// Where and how to connect, checked; never displays the password.
pub(super) struct Endpoint {
    pub options: ClientOptions,
    /// `host:port[,host:port…]`, for messages.
    pub hosts: String,
    user: Option<String>,
    auth_source: String,
    timeout: Duration,
}

impl Endpoint {
    /// `request` (a query or the next part of its answer), given `timeout` to answer; errors
    /// name `what` was being done and the server.
    pub async fn within<T>(
        &self,
        what: &str,
        timeout: Duration,
        request: impl std::future::Future<Output = mongodb::error::Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(timeout, request).await {
            Ok(answer) => answer.map_err(|e| self.error(what, e)),
            Err(_) => Err(ConnectorError::Other(format!(
                "{SECTION}: {what}: MongoDB at {} did not answer within {} s \
                 ({SECTION}.read_timeout_s)",
                self.hosts,
                timeout.as_secs()
            ))),
        }
    }

    /// A driver or server error while doing `what`, naming the server and, for the common
    /// mistakes, the config keys to fix.
    pub fn error(&self, what: &str, e: mongodb::error::Error) -> ConnectorError {
        use mongodb::error::ErrorKind;
        let at = &self.hosts;
        let message = match e.kind.as_ref() {
            ErrorKind::ServerSelection { message, .. } => format!(
                "{SECTION}: {what}: no MongoDB server answered at {at} within {} s: {message}",
                self.timeout.as_secs()
            ),
            ErrorKind::Authentication { message, .. } => format!(
                "{SECTION}: {what}: authentication failed for user `{}` (auth source `{}`) at \
                 {at} (check {SECTION}.user, {SECTION}.password and {SECTION}.auth_source): \
                 {message}",
                self.user.as_deref().unwrap_or(""),
                self.auth_source
            ),
            ErrorKind::Command(c) => format!(
                "{SECTION}: {what}: MongoDB at {at} answered error {} ({}): {}",
                c.code, c.code_name, c.message
            ),
            other => format!("{SECTION}: {what}: MongoDB at {at}: {other}"),
        };
        ConnectorError::Other(message)
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str = "Read a MongoDB collection in key order: keyset pages, columns inferred from a sample or declared";
    const SECRET_FIELDS: &'static [SecretField] = &[
        SecretField::new("host", "host").unless(&["uri"]),
        SecretField::new("port", "port").unless(&["uri"]),
        SecretField::new("username", "user"),
        SecretField::new("user", "user"),
        SecretField::new("password", "password"),
        SecretField::new("dbname", "database"),
    ];

    fn id(&self) -> String {
        format!("{}.{}", self.database, self.collection)
    }

    fn check_for(&self, _mode: ReplicationMode) -> Result<()> {
        super::Query::from_config(self).map(|_| ())
    }
}

#[cfg(test)]
mod tests;
