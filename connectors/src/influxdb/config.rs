//! The `influxdb` target's settings.

use crate::{ConnectorConfig, ReplicationMode, SecretField};
use std::collections::HashSet;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::{ConnectorError, Result};

/// Where the section sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "target.influxdb";
/// Port of `host` when none is given (InfluxDB's).
pub const DEFAULT_PORT: u16 = 8086;
/// The most target workers.
const MAX_CONCURRENCY: usize = 64;

/// Writes every row as one point to an InfluxDB bucket through the v2 write API
/// (`POST /api/v2/write`, line protocol): InfluxDB 2.x, 3.x, Cloud, and 1.8+ (v2-compatible
/// API). Writes are immediate and not transactional: a failed run leaves the points already
/// written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "influxdb target")]
pub struct Config {
    /// Base URL of the server, e.g. `http://127.0.0.1:8086` or
    /// `https://us-east-1-1.aws.cloud2.influxdata.com`; a path prefix (a reverse proxy's) is
    /// kept. Give either `url` or `host`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub url: Option<String>,
    /// Server host name or address (the original fastlane's key), reached over `http://`
    /// unless written with its scheme (`https://influx.internal`). Give either `url` or `host`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub host: Option<String>,
    /// Port of `host`. Default: 8086.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// Bucket receiving the points (the original fastlane's key; on InfluxDB 1.8 a database,
    /// optionally `database/retention_policy`). Give either `database` or `bucket`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub database: Option<String>,
    /// Bucket receiving the points: InfluxDB 2's name for `database`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub bucket: Option<String>,
    /// Organization name (InfluxDB 2 and Cloud need it; 1.8 and 3.x ignore it).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub org: Option<String>,
    /// API token, sent as `Authorization: Token …` (write `${ENV_VAR}` to keep it out of the
    /// file).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub token: Option<String>,
    /// Name of an environment variable holding the API token (instead of `token`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub token_env: Option<String>,
    /// User name, for InfluxDB 1.8+ with authentication and no token: the v2-compatible write
    /// API takes `Authorization: Token user:password`. Ignored when a token is given.
    #[serde(default)]
    pub user: Option<String>,
    /// Password of `user` (write `${ENV_VAR}` to keep it out of the file).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub password: Option<String>,
    /// Measurement of every point.
    #[schemars(length(min = 1))]
    pub measurement: String,
    /// Columns written as tags (strings, integers, booleans, decimals or dates), sorted by
    /// name on each line as InfluxDB recommends. A null or empty value leaves the tag out of
    /// that point; a value holding a newline cannot be written (line protocol has no escape
    /// for it) and fails the run naming the row.
    #[serde(default)]
    pub tag_columns: Option<Vec<String>>,
    /// Columns written as fields. Default: every column that is neither a tag nor the
    /// `time_column`. Null values (and NaN or infinite floats, which line protocol cannot
    /// carry) are left out of their point; a row left with no field cannot be written and is
    /// skipped (the run warns with the count).
    #[serde(default)]
    pub field_columns: Option<Vec<String>>,
    /// Column holding each point's time: a timestamp, a date, or an integer counted in
    /// `precision` units. Without it rows are stamped with the time they are written, as the
    /// original fastlane did, but each row with its own time, one nanosecond apart, so rows
    /// sharing a tag set never overwrite each other (a million rows span a millisecond). Set
    /// it whenever the rows have a time.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub time_column: Option<String>,
    /// Unit of the `time_column`'s values as sent: `ns`, `us`, `ms` or `s` (default `ms`, as
    /// the original). Values finer than this are truncated (the run warns with the count).
    /// Only with a `time_column`: stamps of rows without one are always in nanoseconds, since a
    /// coarser unit would push a large run's stamps into the future and let the next run
    /// overwrite them.
    #[serde(default)]
    pub precision: Option<Precision>,
    /// Lines (points) per write request.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub batch_size: usize,
    /// Writer workers, each sending its own requests.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: usize,
    /// Attempts per request (the first one included). Connection errors, timeouts, 429 and 5xx
    /// answers are retried with a growing, jittered pause (or the server's `Retry-After`);
    /// other refusals fail at once with the server's message.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// Pause before the first retry, in milliseconds; it doubles on each further one (up to
    /// 10 s).
    #[serde(default = "default_retry_backoff_ms")]
    #[schemars(range(min = 0, max = 600_000))]
    pub retry_backoff_ms: u64,
    /// Seconds a request may take, from connecting to the end of the answer.
    #[serde(default = "default_timeout_s")]
    #[schemars(range(min = 1, max = 86_400))]
    pub timeout_s: u64,
}

/// Unit of the timestamps sent (the write API's `precision` parameter).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum Precision {
    /// Nanoseconds.
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds.
    #[default]
    Ms,
    /// Seconds.
    S,
}

impl Precision {
    /// The value of the `precision` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ns => "ns",
            Self::Us => "us",
            Self::Ms => "ms",
            Self::S => "s",
        }
    }

    /// Units per second.
    pub fn per_second(self) -> i64 {
        match self {
            Self::Ns => 1_000_000_000,
            Self::Us => 1_000_000,
            Self::Ms => 1_000,
            Self::S => 1,
        }
    }
}

fn default_batch_size() -> usize {
    5_000
}
fn default_concurrency() -> usize {
    1
}
fn default_max_attempts() -> u32 {
    5
}
fn default_retry_backoff_ms() -> u64 {
    200
}
fn default_timeout_s() -> u64 {
    30
}

/// Where and how to write, once the config is checked.
#[derive(Clone, Debug)]
pub(super) struct Endpoint {
    /// Base URL, ending with `/`.
    pub base: Url,
    /// The bucket (`database` or `bucket`).
    pub bucket: String,
    /// The organization, when given.
    pub org: Option<String>,
    /// The `Authorization` header, when credentials are given (marked sensitive).
    pub auth: Option<HeaderValue>,
    /// Time limit of each request.
    pub timeout: Duration,
}

impl Config {
    /// The precision of the timestamps sent (see `precision`).
    pub fn precision(&self) -> Precision {
        match (self.precision, &self.time_column) {
            (Some(precision), _) => precision,
            (None, Some(_)) => Precision::Ms,
            (None, None) => Precision::Ns,
        }
    }

    /// The bucket: `database` or `bucket`, whichever is given (exactly one must be).
    pub(super) fn bucket_name(&self) -> Result<&str> {
        match (self.database.as_deref(), self.bucket.as_deref()) {
            (Some(name), None) | (None, Some(name)) if !name.trim().is_empty() => Ok(name),
            (Some(_), None) => Err(key_error("database", "must not be empty")),
            (None, Some(_)) => Err(key_error("bucket", "must not be empty")),
            (Some(_), Some(_)) => Err(key_error(
                "bucket",
                "give either `database` (the original key) or `bucket`, not both",
            )),
            (None, None) => Err(ConnectorError::config(
                SECTION,
                "name the bucket receiving the points: `database` (or `bucket`)",
            )),
        }
    }

    /// Check everything serde cannot; every problem is reported at once, each naming its key.
    pub(super) fn check(&self) -> Result<Endpoint> {
        let mut problems = Vec::new();
        let base = self.base_url().map_err(|e| problems.push(e)).ok();
        let bucket = self.bucket_name().map_err(|e| problems.push(e)).ok();
        let auth = self.auth().map_err(|e| problems.push(e)).ok();
        if self.org.as_deref().is_some_and(|o| o.trim().is_empty()) {
            problems.push(key_error("org", "must not be empty (leave it out instead)"));
        }
        problems.extend(self.column_problems());
        if self.time_column.is_none() && self.precision.is_some_and(|p| p != Precision::Ns) {
            problems.push(key_error(
                "precision",
                "sets the unit of `time_column`, which is not given: rows without a time \
                 column are stamped in nanoseconds (leave `precision` out, or name the \
                 `time_column`)",
            ));
        }
        let mut at_least = |key: &str, value: u64| {
            if value == 0 {
                problems.push(key_error(key, "must be at least 1"));
            }
        };
        at_least("batch_size", self.batch_size as u64);
        at_least("max_attempts", u64::from(self.max_attempts));
        at_least("timeout_s", self.timeout_s);
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            problems.push(key_error(
                "concurrency",
                &format!("must be between 1 and {MAX_CONCURRENCY}"),
            ));
        }
        match (base, bucket, auth, problems.len()) {
            (Some(base), Some(bucket), Some(auth), 0) => Ok(Endpoint {
                base,
                bucket: bucket.to_string(),
                org: self.org.clone(),
                auth,
                timeout: Duration::from_secs(self.timeout_s),
            }),
            _ if problems.len() == 1 => Err(problems.remove(0)),
            _ => Err(ConnectorError::config(
                SECTION,
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }

    /// The server's base URL from `url`, or from `host` and `port`; it ends with `/`.
    fn base_url(&self) -> Result<Url> {
        let (text, key) = match (self.url.as_deref(), self.host.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(key_error(
                    "url",
                    "give either `url` or `host` (with `port`), not both",
                ))
            }
            (None, None) => {
                return Err(ConnectorError::config(
                    SECTION,
                    "say where the server is: `url` (e.g. http://127.0.0.1:8086) or `host`",
                ))
            }
            (Some(url), None) => {
                if self.port.is_some() {
                    return Err(key_error(
                        "port",
                        "goes with `host`; write the port into `url` instead",
                    ));
                }
                (url.trim().to_string(), "url")
            }
            (None, Some(host)) => {
                let host = host.trim().trim_end_matches('/');
                if host.is_empty() {
                    return Err(key_error("host", "must not be empty"));
                }
                let port = self.port.unwrap_or(DEFAULT_PORT);
                let text = match host.split_once("://") {
                    Some(_) => format!("{host}:{port}"),
                    // A bare IPv6 address needs brackets before its port.
                    None if host.contains(':') && !host.starts_with('[') => {
                        format!("http://[{host}]:{port}")
                    }
                    None => format!("http://{host}:{port}"),
                };
                (text, "host")
            }
        };
        let mut url = Url::parse(&text)
            .map_err(|e| key_error(key, &format!("'{text}' is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(key_error(
                key,
                &format!("'{text}' is not an http:// or https:// URL"),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(key_error(
                key,
                "must not hold credentials: use `token` (or `user` and `password`)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(key_error(
                key,
                &format!("'{text}' must not hold a query or a fragment"),
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(url)
    }

    /// The `Authorization` header: `Token <token>`, else `Token user:password` (InfluxDB 1.8+),
    /// else none.
    fn auth(&self) -> Result<Option<HeaderValue>> {
        let token = match (self.token.as_deref(), self.token_env.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(key_error(
                    "token_env",
                    "give either `token` or `token_env`, not both",
                ))
            }
            (Some(token), None) if token.trim().is_empty() => {
                return Err(key_error("token", "must not be empty"))
            }
            (Some(token), None) => Some(token.trim().to_string()),
            (None, Some(var)) => match std::env::var(var) {
                Ok(token) if !token.trim().is_empty() => Some(token.trim().to_string()),
                _ => {
                    return Err(key_error(
                        "token_env",
                        &format!("environment variable `{var}` is not set (or is empty)"),
                    ))
                }
            },
            (None, None) => None,
        };
        let (credentials, key) = match (token, self.user.as_deref()) {
            (Some(token), _) => (token, "token"),
            (None, Some(user)) if !user.is_empty() => (
                format!("{user}:{}", self.password.as_deref().unwrap_or_default()),
                "password",
            ),
            (None, Some(_)) => return Err(key_error("user", "must not be empty")),
            (None, None) if self.password.is_some() => {
                return Err(key_error(
                    "password",
                    "needs `user` (or give a `token` instead)",
                ))
            }
            (None, None) => return Ok(None),
        };
        let mut value = HeaderValue::from_bytes(format!("Token {credentials}").as_bytes()).map_err(|_| {
            key_error(
                key,
                "holds a character an HTTP header cannot carry (a newline or another control character)",
            )
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Problems with the measurement and the column lists, as far as the config alone can say
    /// (whether the columns exist is known at the first batch).
    fn column_problems(&self) -> Vec<ConnectorError> {
        let mut problems = Vec::new();
        if self.measurement.trim().is_empty() {
            problems.push(key_error("measurement", "must not be empty"));
        } else if self.measurement.contains('\n') {
            problems.push(key_error(
                "measurement",
                "must not hold a newline (line protocol cannot escape it)",
            ));
        } else if self.measurement.starts_with('#') {
            problems.push(key_error(
                "measurement",
                "must not start with `#` (line protocol reads such a line as a comment)",
            ));
        }
        let tags = self.tag_columns.as_deref().unwrap_or_default();
        let fields = self.field_columns.as_deref();
        let mut list = |key: &str, names: &[String]| {
            let mut seen = HashSet::new();
            for name in names {
                if name.is_empty() {
                    problems.push(key_error(key, "holds an empty column name"));
                } else if !seen.insert(name.as_str()) {
                    problems.push(key_error(key, &format!("names `{name}` twice")));
                }
            }
        };
        list("tag_columns", tags);
        if let Some(fields) = fields {
            list("field_columns", fields);
            if fields.is_empty() {
                problems.push(key_error(
                    "field_columns",
                    "must name at least one column (leave it out for every column that is \
                     not a tag or the time)",
                ));
            }
            for name in fields.iter().filter(|f| tags.contains(f)) {
                problems.push(key_error(
                    "field_columns",
                    &format!("`{name}` is also in tag_columns: a column is a tag or a field"),
                ));
            }
        }
        if let Some(time) = self.time_column.as_deref() {
            if time.is_empty() {
                problems.push(key_error("time_column", "must not be empty"));
            } else if tags
                .iter()
                .chain(fields.unwrap_or_default())
                .any(|c| c == time)
            {
                problems.push(key_error(
                    "time_column",
                    &format!("`{time}` is also listed as a tag or a field column"),
                ));
            }
        }
        problems
    }
}

fn key_error(key: &str, message: &str) -> ConnectorError {
    ConnectorError::config(format!("{SECTION}.{key}"), message)
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str = "Write each row as a point to InfluxDB (v2 write API, line protocol; batched, retried on 429/5xx)";
    const SECRET_FIELDS: &'static [SecretField] = &[
        SecretField::new("host", "host").unless(&["url"]),
        SecretField::new("port", "port").unless(&["url"]),
        SecretField::new("username", "user"),
        SecretField::new("user", "user"),
        SecretField::new("password", "password"),
        SecretField::new("dbname", "database").unless(&["bucket"]),
    ];

    /// `{database}.{measurement}`, as the original fastlane named the pipeline.
    fn id(&self) -> String {
        format!(
            "{}.{}",
            self.bucket_name().unwrap_or_default(),
            self.measurement
        )
    }

    fn check_for(&self, mode: ReplicationMode) -> Result<()> {
        let endpoint = self.check()?;
        super::full_table_only(mode, &endpoint.bucket, &self.measurement)
    }
}
