//! The `bigquery` source's settings: the original fastlane's keys (`gcp_project`, `dataset_id`,
//! `table_id`, a service-account key), plus a `query`, an endpoint override for emulators, the
//! read path and page size.

use crate::{ConnectorConfig, ReplicationMode, SecretField};
use serde::{Deserialize, Serialize};

use crate::{ConnectorError, Result};

/// Where the section sits in the pipeline config (for error paths).
pub(super) const SECTION: &str = "source.bigquery";

/// Google's REST endpoint (the `/bigquery/v2` API root is appended).
const DEFAULT_ENDPOINT: &str = "https://bigquery.googleapis.com";
/// Google's Storage Read API (gRPC) endpoint.
const DEFAULT_STORAGE_ENDPOINT: &str = "https://bigquerystorage.googleapis.com";

/// Reads one BigQuery table, or the result of one standard-SQL query, into Arrow record batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "bigquery source")]
pub struct Config {
    /// Google Cloud project: the project holding `dataset_id`, and the one billed for queries
    /// and read sessions.
    #[schemars(length(min = 1))]
    pub gcp_project: String,
    /// Dataset holding `table_id`. With `query`, the default dataset of unqualified table names.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub dataset_id: Option<String>,
    /// Table to read (with `dataset_id`). Give either `table_id` or `query`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub table_id: Option<String>,
    /// A standard-SQL query whose result is read instead of a table.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub query: Option<String>,
    /// Path of a service-account key file (JSON). Default: `service_account_json`, then
    /// `GOOGLE_APPLICATION_CREDENTIALS`, then the gcloud application-default credentials, then
    /// the GCE metadata server. With `endpoint` and no key, requests carry no credentials.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub service_account_key_file: Option<String>,
    /// The service-account key itself, as a JSON string (write `${ENV_VAR}`, or let `secret`
    /// fill it from an AWS Secrets Manager entry's `service_account_json` field).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub service_account_json: Option<String>,
    /// REST endpoint override, for an emulator or a proxy: `http://127.0.0.1:9050` (the
    /// `/bigquery/v2` API root is appended unless the URL already ends with it).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub endpoint: Option<String>,
    /// Storage Read API (gRPC) endpoint override: `http://127.0.0.1:9060`. With `endpoint` set and
    /// this one not, the Storage Read API is not used.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub storage_endpoint: Option<String>,
    /// How rows are read: `auto` (default: the Storage Read API, parallel Arrow streams, when it
    /// can serve the read; REST pages otherwise), `rest` (tabledata.list / query result pages)
    /// or `storage` (the Storage Read API or fail).
    #[serde(default)]
    pub read_api: ReadApi,
    /// Rows per REST page; each page becomes one record batch.
    #[serde(default = "default_page_size")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub page_size: usize,
    /// Storage Read API streams read in parallel (the most the read session may have).
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 1000))]
    pub concurrency: usize,
    /// Top-level columns to read, in this order (default: every column, in the table's order).
    /// Only with `table_id`.
    #[serde(default)]
    pub selected_fields: Option<Vec<String>>,
    /// Rows to read, as a standard-SQL condition (`amount > 10 AND country = 'FR'`). Only with
    /// `table_id`; over REST it becomes a query's WHERE clause.
    #[serde(default)]
    pub row_restriction: Option<String>,
    /// Location (region) where query jobs run: `US`, `EU`, `europe-west1` … (default: the
    /// dataset's, as BigQuery decides).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub location: Option<String>,
    /// Seconds each HTTP request, and the creation of a Storage Read session, may take
    /// (connecting gives up after at most 10 s).
    #[serde(default = "default_timeout_s")]
    #[schemars(range(min = 1, max = 86_400))]
    pub timeout_s: u64,
}

/// Which BigQuery API reads the rows.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum ReadApi {
    /// The Storage Read API when it serves the read, REST otherwise (the choice is logged).
    #[default]
    Auto,
    /// REST only: tabledata.list, or jobs.query + getQueryResults.
    Rest,
    /// The Storage Read API only; a read it cannot serve fails.
    Storage,
}

fn default_page_size() -> usize {
    // BigQuery caps a REST page at ~10 MB whatever maxResults says; 10 000 rows is the original
    // fastlane's page and keeps one page of wide rows within a few MiB.
    10_000
}
fn default_concurrency() -> usize {
    4
}
fn default_timeout_s() -> u64 {
    120
}

/// What the section reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Writer {
    /// `project.dataset.table`.
    Table(TableRef),
    /// A query's result.
    Query(String),
}

/// A table's full name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TableRef {
    pub project: String,
    pub dataset: String,
    pub table: String,
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.project, self.dataset, self.table)
    }
}

impl Config {
    /// Check what serde cannot; errors name the key.
    pub(super) fn check(&self) -> Result<()> {
        let key = |k: &str| format!("{SECTION}.{k}");
        if self.gcp_project.trim().is_empty() {
            return Err(ConnectorError::config(
                key("gcp_project"),
                "must not be empty",
            ));
        }
        for (name, value) in [
            ("dataset_id", &self.dataset_id),
            ("table_id", &self.table_id),
            ("query", &self.query),
            ("service_account_key_file", &self.service_account_key_file),
            ("service_account_json", &self.service_account_json),
            ("location", &self.location),
            ("row_restriction", &self.row_restriction),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(ConnectorError::config(key(name), "must not be empty"));
            }
        }
        match (&self.table_id, &self.query) {
            (Some(_), Some(_)) => {
                return Err(ConnectorError::config(
                    SECTION,
                    "give either `table_id` (a table to read) or `query` (a query whose result \
                     is read), not both",
                ))
            }
            (None, None) => {
                return Err(ConnectorError::config(
                    SECTION,
                    "one of `table_id` (with `dataset_id`) or `query` is required",
                ))
            }
            (Some(_), None) if self.dataset_id.is_none() => {
                return Err(ConnectorError::config(
                    key("dataset_id"),
                    "is required with `table_id`",
                ))
            }
            (None, Some(_)) => {
                for (name, set) in [
                    ("selected_fields", self.selected_fields.is_some()),
                    ("row_restriction", self.row_restriction.is_some()),
                ] {
                    if set {
                        return Err(ConnectorError::config(
                            key(name),
                            "only applies to `table_id`; write it into the `query`",
                        ));
                    }
                }
            }
            _ => {}
        }
        if self.service_account_key_file.is_some() && self.service_account_json.is_some() {
            return Err(ConnectorError::config(
                key("service_account_json"),
                "give either `service_account_key_file` or `service_account_json`, not both",
            ));
        }
        if self.page_size == 0 || self.page_size > 1_000_000 {
            return Err(ConnectorError::config(
                key("page_size"),
                "must be between 1 and 1000000",
            ));
        }
        if self.concurrency == 0 || self.concurrency > 1000 {
            return Err(ConnectorError::config(
                key("concurrency"),
                "must be between 1 and 1000",
            ));
        }
        if self.timeout_s == 0 {
            return Err(ConnectorError::config(
                key("timeout_s"),
                "must be at least 1",
            ));
        }
        for (name, value) in [
            ("endpoint", &self.endpoint),
            ("storage_endpoint", &self.storage_endpoint),
        ] {
            if let Some(url) = value {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConnectorError::config(
                        key(name),
                        format!("`{url}` is not an http:// or https:// URL"),
                    ));
                }
            }
        }
        if self.read_api == ReadApi::Storage
            && self.endpoint.is_some()
            && self.storage_endpoint.is_none()
        {
            return Err(ConnectorError::config(
                key("storage_endpoint"),
                "is required with `endpoint` when `read_api` is `storage`",
            ));
        }
        if let Some(fields) = &self.selected_fields {
            if fields.is_empty() {
                return Err(ConnectorError::config(
                    key("selected_fields"),
                    "must name at least one column",
                ));
            }
            for (i, name) in fields.iter().enumerate() {
                let at = format!("{SECTION}.selected_fields[{i}]");
                if name.trim().is_empty() || name.contains('.') || name.contains('`') {
                    return Err(ConnectorError::config(
                        at,
                        format!("`{name}` is not a top-level column name"),
                    ));
                }
                if fields[..i].iter().any(|f| f.eq_ignore_ascii_case(name)) {
                    return Err(ConnectorError::config(
                        at,
                        format!("`{name}` is listed twice"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The table or query the section reads (after [`Config::check`]).
    pub(super) fn target(&self) -> Writer {
        match (&self.table_id, &self.query) {
            (Some(table), _) => Writer::Table(TableRef {
                project: self.gcp_project.clone(),
                dataset: self.dataset_id.clone().unwrap_or_default(),
                table: table.clone(),
            }),
            (None, query) => Writer::Query(query.clone().unwrap_or_default()),
        }
    }

    /// The REST API root: `…/bigquery/v2`.
    pub(super) fn rest_base(&self) -> String {
        let endpoint = self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let endpoint = endpoint.trim_end_matches('/');
        if endpoint.ends_with("/bigquery/v2") {
            endpoint.to_string()
        } else {
            format!("{endpoint}/bigquery/v2")
        }
    }

    /// The Storage Read API endpoint to try, or `None` when it is not to be used: `read_api` is
    /// `rest`, or a REST `endpoint` override was given without a `storage_endpoint`.
    pub(super) fn storage_url(&self) -> Option<String> {
        if self.read_api == ReadApi::Rest {
            return None;
        }
        match (&self.storage_endpoint, &self.endpoint) {
            (Some(url), _) => Some(url.trim_end_matches('/').to_string()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_STORAGE_ENDPOINT.to_string()),
        }
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str = "Read a BigQuery table or query result: Storage Read API streams in parallel, REST pages as fallback";
    /// A Google service-account key kept as a JSON string (the original's BigQuery secret).
    const SECRET_FIELDS: &'static [SecretField] = &[SecretField::new(
        "service_account_json",
        "service_account_json",
    )];

    fn id(&self) -> String {
        match (&self.dataset_id, &self.table_id) {
            (Some(dataset), Some(table)) => format!("{}.{dataset}.{table}", self.gcp_project),
            _ => format!("{} (query)", self.gcp_project),
        }
    }

    fn check_for(&self, mode: ReplicationMode) -> Result<()> {
        super::refuse_incremental(mode)?;
        self.check()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: serde_json::Value) -> Config {
        crate::section::parse(value, SECTION).unwrap()
    }

    fn check_err(value: serde_json::Value) -> String {
        parse(value).check().unwrap_err().to_string()
    }

    #[test]
    fn a_table_section_takes_the_defaults() {
        let config = parse(json!({ "gcp_project": "p", "dataset_id": "d", "table_id": "t" }));
        config.check().unwrap();
        assert_eq!(config.page_size, 10_000);
        assert_eq!(config.concurrency, 4);
        assert_eq!(config.read_api, ReadApi::Auto);
        assert_eq!(
            config.target(),
            Writer::Table(TableRef {
                project: "p".into(),
                dataset: "d".into(),
                table: "t".into()
            })
        );
        assert_eq!(
            config.rest_base(),
            "https://bigquery.googleapis.com/bigquery/v2"
        );
        assert_eq!(
            config.storage_url().as_deref(),
            Some("https://bigquerystorage.googleapis.com")
        );
    }

    #[test]
    fn exactly_one_of_table_and_query() {
        let both = check_err(
            json!({ "gcp_project": "p", "dataset_id": "d", "table_id": "t",
                                     "query": "SELECT 1" }),
        );
        assert!(both.starts_with("source.bigquery: give either"), "{both}");
        let neither = check_err(json!({ "gcp_project": "p", "dataset_id": "d" }));
        assert!(neither.contains("one of `table_id`"), "{neither}");
        let no_dataset = check_err(json!({ "gcp_project": "p", "table_id": "t" }));
        assert!(
            no_dataset.starts_with("source.bigquery.dataset_id:"),
            "{no_dataset}"
        );
        let filter_on_query = check_err(json!({ "gcp_project": "p", "query": "SELECT 1",
                                                "row_restriction": "x > 1" }));
        assert!(
            filter_on_query.starts_with("source.bigquery.row_restriction:"),
            "{filter_on_query}"
        );
    }

    #[test]
    fn endpoints_and_read_paths() {
        let config = parse(json!({ "gcp_project": "p", "query": "SELECT 1",
                                   "endpoint": "http://127.0.0.1:9050/" }));
        config.check().unwrap();
        assert_eq!(config.rest_base(), "http://127.0.0.1:9050/bigquery/v2");
        assert_eq!(
            config.storage_url(),
            None,
            "an emulator without a gRPC endpoint"
        );

        let config = parse(json!({ "gcp_project": "p", "query": "SELECT 1",
                                   "endpoint": "http://h:1/bigquery/v2",
                                   "storage_endpoint": "http://h:2", "read_api": "storage" }));
        config.check().unwrap();
        assert_eq!(config.rest_base(), "http://h:1/bigquery/v2");
        assert_eq!(config.storage_url().as_deref(), Some("http://h:2"));

        let rest = parse(json!({ "gcp_project": "p", "query": "SELECT 1", "read_api": "rest" }));
        assert_eq!(rest.storage_url(), None);

        let missing = check_err(json!({ "gcp_project": "p", "query": "SELECT 1",
                                        "endpoint": "http://h:1", "read_api": "storage" }));
        assert!(
            missing.starts_with("source.bigquery.storage_endpoint:"),
            "{missing}"
        );
        let bad = check_err(json!({ "gcp_project": "p", "query": "SELECT 1", "endpoint": "h:1" }));
        assert!(bad.starts_with("source.bigquery.endpoint:"), "{bad}");
    }

    #[test]
    fn selected_fields_are_distinct_top_level_names() {
        let base = json!({ "gcp_project": "p", "dataset_id": "d", "table_id": "t" });
        let with = |fields: serde_json::Value| {
            let mut v = base.clone();
            v["selected_fields"] = fields;
            v
        };
        parse(with(json!(["a", "b"]))).check().unwrap();
        let nested = check_err(with(json!(["a", "rec.x"])));
        assert!(
            nested.starts_with("source.bigquery.selected_fields[1]:"),
            "{nested}"
        );
        let twice = check_err(with(json!(["a", "A"])));
        assert!(twice.contains("listed twice"), "{twice}");
        let empty = check_err(with(json!([])));
        assert!(empty.contains("at least one"), "{empty}");
    }

    #[test]
    fn unknown_keys_and_bad_ranges_are_refused() {
        let err = crate::section::parse::<Config>(
            json!({ "gcp_project": "p", "query": "SELECT 1", "projectid": "x" }),
            SECTION,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("source.bigquery.projectid: unknown field"),
            "{err}"
        );
        let zero = check_err(json!({ "gcp_project": "p", "query": "SELECT 1", "page_size": 0 }));
        assert!(zero.starts_with("source.bigquery.page_size:"), "{zero}");
        let both_keys = check_err(json!({ "gcp_project": "p", "query": "SELECT 1",
                                          "service_account_key_file": "/k.json",
                                          "service_account_json": "{}" }));
        assert!(
            both_keys.starts_with("source.bigquery.service_account_json:"),
            "{both_keys}"
        );
    }
}
