//! The `firehose` target's settings.

use crate::{ConnectorConfig, ReplicationMode};
use serde::{Deserialize, Serialize};

use super::batch::MAX_RECORDS_PER_CALL;
use crate::aws::catalog::{GlueKeys, GlueLayout};
use crate::aws::{Connection, StaticKeys};
use crate::{ConnectorError, Result};

/// Where the section sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "target.firehose";

/// The most target workers.
const MAX_CONCURRENCY: usize = 64;

/// Sends every row to a Kinesis Data Firehose delivery stream as one JSON object per record.
/// Firehose has no transactions: what was sent before a failure stays delivered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "firehose target")]
pub struct Config {
    /// Name of the delivery stream receiving the rows (a Direct PUT stream). It must exist and
    /// be ACTIVE: the run checks it before sending anything.
    #[schemars(length(min = 1))]
    pub delivery_stream: String,
    /// AWS region of the stream. Default: `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile's.
    #[serde(default)]
    #[schemars(length(min = 1, max = 64), pattern(crate::aws::REGION_PATTERN))]
    pub region: Option<String>,
    /// Endpoint override (an AWS-compatible service or a VPC endpoint), e.g.
    /// `http://127.0.0.1:4566`. Default: `AWS_ENDPOINT_URL_FIREHOSE`, `AWS_ENDPOINT_URL` or AWS.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub endpoint_url: Option<String>,
    /// Named profile of the shared AWS config and credentials files.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub profile: Option<String>,
    /// Access key id, used with `secret_access_key` instead of the standard credentials chain
    /// (write `${ENV_VAR}` to keep it out of the file).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key, with `access_key_id`.
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials, with `access_key_id` and `secret_access_key`.
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub session_token: Option<String>,
    /// End each record with a newline, so the objects Firehose concatenates into one S3 object
    /// stay one per line (JSON Lines).
    #[serde(default = "default_newline_delimited")]
    pub newline_delimited: bool,
    /// How decimal columns are written: `string` (default, exact: `"12.50"`) or `number`
    /// (`12.50`, which many JSON readers turn into a binary float).
    #[serde(default)]
    pub decimals: Decimals,
    /// Records per PutRecordBatch call (Firehose takes at most 500). Calls are also kept under
    /// Firehose's 4 MiB per call.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 500))]
    pub batch_size: usize,
    /// Attempts per record when Firehose reports single records of a call as failed (the first
    /// one included); failed records are resent alone, with a growing pause. Whole calls that
    /// fail on throttling or server errors are retried by the AWS SDK itself.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// Most records sent per second, by all workers together (retries included). Default: no
    /// limit.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub rate_limit: Option<u32>,
    /// Writer workers, each sending its own calls.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: usize,
    /// The original layout: the Glue Data Catalog database of the table the stream delivers
    /// into (its record format conversion). Rows are converted to the table's column types
    /// and FULL_TABLE rows get the run's `_table_version`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub database: Option<String>,
    /// The original layout: the Glue table (with `database`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub table: Option<String>,
    /// The original layout: the database of the Athena view `view_database.table`, re-pointed
    /// at the run's version once every record is acknowledged (Firehose delivers to S3 later,
    /// within its buffering interval).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub view_database: Option<String>,
    /// The Athena work group of the view statements (default `primary`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub work_group: Option<String>,
    /// Where Athena writes statement results (`s3://…`), when the work group does not say.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub athena_output: Option<String>,
    /// The original layout: a Glue crawler started after the run.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub crawler: Option<String>,
    /// The original layout: the table's primary key (one row per key in the view; with
    /// `view_database`, INCREMENTAL runs resume after `MAX(pk)` over the view).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub pk: Option<String>,
    /// Endpoint of the Glue Data Catalog instead of AWS's (also `AWS_ENDPOINT_URL_GLUE`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub glue_endpoint_url: Option<String>,
    /// Endpoint of Athena instead of AWS's (also `AWS_ENDPOINT_URL_ATHENA`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub athena_endpoint_url: Option<String>,
}

/// How Decimal128/Decimal256 values are written.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum Decimals {
    /// A JSON string keeping every digit and the scale: `"12.50"`.
    #[default]
    String,
    /// A JSON number with the scale's digits: `12.50`.
    Number,
}

fn default_newline_delimited() -> bool {
    true
}
fn default_batch_size() -> usize {
    MAX_RECORDS_PER_CALL
}
fn default_max_attempts() -> u32 {
    5
}
fn default_concurrency() -> usize {
    1
}

impl Config {
    /// Check what serde cannot; every problem is reported at once, each naming its key.
    pub(super) fn check(&self) -> Result<()> {
        let key = |k: &str| format!("{SECTION}.{k}");
        let mut problems = Vec::new();
        if let Some(message) = stream_name_problem(&self.delivery_stream) {
            problems.push(ConnectorError::config(key("delivery_stream"), message));
        }
        if !(1..=MAX_RECORDS_PER_CALL).contains(&self.batch_size) {
            problems.push(ConnectorError::config(
                key("batch_size"),
                format!("must be between 1 and {MAX_RECORDS_PER_CALL} (Firehose's limit per call)"),
            ));
        }
        if self.max_attempts == 0 {
            problems.push(ConnectorError::config(
                key("max_attempts"),
                "must be at least 1",
            ));
        }
        if self.rate_limit == Some(0) {
            problems.push(ConnectorError::config(
                key("rate_limit"),
                "must be at least 1 record per second (leave it out for no limit)",
            ));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            problems.push(ConnectorError::config(
                key("concurrency"),
                format!("must be between 1 and {MAX_CONCURRENCY}"),
            ));
        }
        if let Err(e) = self.static_keys() {
            problems.push(e);
        }
        if let Err(e) = self.glue() {
            problems.push(e);
        }
        for (name, url) in [
            ("glue_endpoint_url", &self.glue_endpoint_url),
            ("athena_endpoint_url", &self.athena_endpoint_url),
        ] {
            if let Some(Err(e)) = url
                .as_deref()
                .map(|u| crate::aws::check_endpoint(&key(name), u))
            {
                problems.push(e);
            }
        }
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
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

    /// How to reach the stream: region, endpoint, profile and keys.
    pub(super) fn connection(&self) -> Result<Connection<'_>> {
        Ok(Connection {
            service: "FIREHOSE",
            section: SECTION,
            region: self.region.as_deref(),
            endpoint_url: self.endpoint_url.as_deref(),
            profile: self.profile.as_deref(),
            keys: self.static_keys()?,
        })
    }

    /// The original layout's Glue table, when `database` and `table` are given.
    pub(super) fn glue(&self) -> Result<Option<GlueLayout>> {
        GlueKeys {
            database: self.database.as_deref(),
            table: self.table.as_deref(),
            view_database: self.view_database.as_deref(),
            work_group: self.work_group.as_deref(),
            athena_output: self.athena_output.as_deref(),
            crawler: self.crawler.as_deref(),
            pk: self.pk.as_deref(),
        }
        .layout(SECTION)
    }

    /// Whether INCREMENTAL runs have an offset: `MAX(pk)` over the original layout's view.
    pub(super) fn has_view_offset(&self) -> bool {
        matches!(self.glue(), Ok(Some(g)) if g.view_database.is_some() && g.pk.is_some())
    }

    fn static_keys(&self) -> Result<Option<StaticKeys<'_>>> {
        StaticKeys::from_config(
            SECTION,
            self.access_key_id.as_deref(),
            self.secret_access_key.as_deref(),
            self.session_token.as_deref(),
        )
    }
}

/// Why `name` cannot be a delivery stream name (1 to 64 of `a-z A-Z 0-9 _ . -`), if it cannot.
fn stream_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > 64 {
        return Some(format!(
            "'{name}' is {} characters long; stream names have at most 64",
            name.len()
        ));
    }
    let bad: String = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .collect();
    if bad.is_empty() {
        None
    } else {
        Some(format!(
            "'{name}' holds {bad:?}; stream names use only letters, digits, '_', '.' and '-'"
        ))
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str = "Send each row as a JSON record to a Kinesis Data Firehose delivery stream (batched, failed records resent)";

    fn id(&self) -> String {
        self.delivery_stream.clone()
    }

    fn check_for(&self, mode: ReplicationMode) -> Result<()> {
        self.check()?;
        super::full_table_only(mode, &self.delivery_stream, self.has_view_offset())?;
        self.connection()?.check()
    }
}
