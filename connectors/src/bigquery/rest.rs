//! The REST API: tables.get for a table's schema, tabledata.list pages, jobs.query +
//! getQueryResults pages, jobs.get for a query's result table.
//!
//! Calls are plain HTTPS with `reqwest` (gcp-bigquery-client's REST layer cannot send
//! `formatOptions.useInt64Timestamp` — its nested query struct does not URL-encode — has no
//! RANGE type, and parses every cell into a `serde_json::Value` map). 429 and 5xx answers and
//! timeouts are retried with a growing pause; a refused connection fails at once. Timestamps are
//! always asked for as integer microseconds.

use std::time::Duration;

use serde::Deserialize;

use super::auth::Credentials;
use super::config::{Config, TableRef, SECTION};
use super::rows::Value;
use super::types::{FieldSchema, TableSchema};
use crate::error::chain;
use crate::{ConnectorError, Result};

/// Tries per call (the first included) on 429, 5xx and timeouts.
const ATTEMPTS: u32 = 4;
/// How long one jobs.query / getQueryResults call may wait for a running query, in ms.
const QUERY_WAIT_MS: u64 = 10_000;

/// The REST client of one source.
pub(super) struct Rest {
    http: reqwest::Client,
    base: reqwest::Url,
    credentials: Credentials,
    location: Option<String>,
    page_size: usize,
}

/// A query job.
#[derive(Clone, Debug)]
pub(super) struct JobRef {
    pub project: String,
    pub job_id: String,
    pub location: Option<String>,
}

impl std::fmt::Display for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.project, self.job_id)
    }
}

/// What tables.get says about a table.
pub(super) struct TableInfo {
    /// Its columns.
    pub fields: Vec<FieldSchema>,
    /// `TABLE`, `VIEW`, `MATERIALIZED_VIEW`, `EXTERNAL`, …
    pub kind: String,
}

/// A finished query: its job, result columns and first page.
pub(super) struct QueryResult {
    pub job: JobRef,
    pub fields: Vec<FieldSchema>,
    pub first: Page,
}

/// One page of rows (tabledata.list, jobs.query or getQueryResults).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Page {
    #[serde(default)]
    pub rows: Option<Vec<Value>>,
    #[serde(default)]
    pub page_token: Option<String>,
    /// Rows in the whole table or result (a decimal string).
    #[serde(default)]
    pub total_rows: Option<String>,
    #[serde(default)]
    pub job_complete: Option<bool>,
    #[serde(default)]
    pub schema: Option<TableSchema>,
    #[serde(default)]
    pub job_reference: Option<JobReference>,
    #[serde(default)]
    pub errors: Option<Vec<ErrorProto>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobReference {
    project_id: Option<String>,
    job_id: Option<String>,
    location: Option<String>,
}

/// One error or warning as BigQuery reports them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ErrorProto {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// `{"error": {…}}`, the body of a failed call.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Option<Vec<ErrorProto>>,
}

/// A call that failed: its HTTP status (none when no answer came), the error reasons and the
/// server's message.
#[derive(Debug)]
pub(super) struct CallError {
    pub status: Option<u16>,
    pub reasons: Vec<String>,
    pub message: String,
}

impl CallError {
    fn not_found(&self) -> bool {
        self.status == Some(404) || self.reasons.iter().any(|r| r == "notFound")
    }
}

impl Rest {
    /// The client for `config` (no call is made yet).
    pub fn new(config: &Config, credentials: Credentials) -> Result<Self> {
        let base = reqwest::Url::parse(&config.rest_base()).map_err(|e| {
            ConnectorError::config(format!("{SECTION}.endpoint"), format!("not a URL: {e}"))
        })?;
        let timeout = Duration::from_secs(config.timeout_s);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("fastlane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Other(format!("{SECTION}: HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            credentials,
            location: config.location.clone(),
            page_size: config.page_size,
        })
    }

    /// tables.get: the table's columns; a missing table (or dataset) is `table … not found`.
    pub async fn table(&self, table: &TableRef) -> Result<TableInfo> {
        let url = self.url(&[
            "projects",
            &table.project,
            "datasets",
            &table.dataset,
            "tables",
            &table.table,
        ])?;
        #[derive(Deserialize)]
        struct TableBody {
            #[serde(default)]
            schema: Option<TableSchema>,
            #[serde(default, rename = "type")]
            kind: Option<String>,
            #[serde(default)]
            errors: Option<Vec<ErrorProto>>,
            #[serde(default)]
            error: Option<ErrorDetail>,
        }
        let not_found = |message: &str| {
            ConnectorError::Other(format!("{SECTION}: table {table} not found ({message})"))
        };
        let body = match self.call(|| self.http.get(url.clone())).await {
            Ok(body) => body,
            Err(e) if e.not_found() => return Err(not_found(&e.message)),
            Err(e) => {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: reading the schema of table {table}: {}",
                    e.message
                )))
            }
        };
        let parsed: TableBody = serde_json::from_slice(&body).map_err(|e| {
            ConnectorError::Other(format!(
                "{SECTION}: tables.get for {table}: unreadable answer: {e}"
            ))
        })?;
        // Some servers answer 200 with the errors in the body.
        let mut errors = parsed.errors.unwrap_or_default();
        if let Some(detail) = parsed.error {
            errors.extend(detail.errors.unwrap_or_default());
        }
        match parsed.schema {
            Some(schema) if !schema.fields.is_empty() => Ok(TableInfo {
                fields: schema.fields,
                kind: parsed.kind.unwrap_or_default(),
            }),
            _ if errors
                .iter()
                .any(|e| e.reason.as_deref() == Some("notFound")) =>
            {
                Err(not_found(&messages(&errors)))
            }
            _ if !errors.is_empty() => Err(ConnectorError::Other(format!(
                "{SECTION}: reading the schema of table {table}: {}",
                messages(&errors)
            ))),
            _ => Err(ConnectorError::Other(format!(
                "{SECTION}: table {table} has no columns"
            ))),
        }
    }

    /// jobs.query, waiting until the query has finished: its job, columns and first page.
    pub async fn run_query(
        &self,
        sql: &str,
        project: &str,
        default_dataset: Option<&str>,
    ) -> Result<QueryResult> {
        let url = self.url(&["projects", project, "queries"])?;
        let mut body = serde_json::json!({
            "query": sql,
            "useLegacySql": false,
            "maxResults": self.page_size,
            "timeoutMs": QUERY_WAIT_MS,
            "formatOptions": { "useInt64Timestamp": true },
            // Makes a retried call idempotent: BigQuery runs one job per request id.
            "requestId": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(location) = &self.location {
            body["location"] = location.as_str().into();
        }
        if let Some(dataset) = default_dataset {
            body["defaultDataset"] =
                serde_json::json!({ "projectId": project, "datasetId": dataset });
        }
        let failed =
            |message: &str| ConnectorError::Other(format!("{SECTION}: query failed: {message}"));
        let raw = self
            .call(|| self.http.post(url.clone()).json(&body))
            .await
            .map_err(|e| failed(&e.message))?;
        let mut page = parse_page(&raw).map_err(|e| failed(&e))?;
        let reference = page.job_reference.take().unwrap_or_default();
        let (Some(job_project), Some(job_id)) = (reference.project_id, reference.job_id) else {
            if let Some(message) = page_failure(&page) {
                return Err(failed(&message));
            }
            return Err(failed("jobs.query answered without a job reference"));
        };
        let job = JobRef {
            project: job_project,
            job_id,
            location: reference.location.or_else(|| self.location.clone()),
        };
        loop {
            if let Some(message) = page_failure(&page) {
                return Err(failed(&message));
            }
            if page.job_complete != Some(false) {
                break;
            }
            let raw = self
                .query_page(&job, None)
                .await
                .map_err(|e| failed(&e.to_string()))?;
            page = parse_page(&raw).map_err(|e| failed(&e))?;
        }
        let fields = page.schema.take().map(|s| s.fields).unwrap_or_default();
        if fields.is_empty() {
            return Err(failed(&format!(
                "job {job} returned no columns (is it a SELECT?)"
            )));
        }
        Ok(QueryResult {
            job,
            fields,
            first: page,
        })
    }

    /// jobs.get: the table a finished query job wrote its result to.
    pub async fn destination_table(
        &self,
        job: &JobRef,
    ) -> std::result::Result<Option<TableRef>, String> {
        let url = self
            .url(&["projects", &job.project, "jobs", &job.job_id])
            .map_err(|e| e.to_string())?;
        let query: Vec<(&str, String)> = job
            .location
            .iter()
            .map(|l| ("location", l.clone()))
            .collect();
        let raw = self
            .call(|| self.http.get(url.clone()).query(&query))
            .await
            .map_err(|e| e.message)?;
        let answer: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| e.to_string())?;
        let table = &answer["configuration"]["query"]["destinationTable"];
        let part = |key: &str| table[key].as_str().map(str::to_owned);
        Ok(
            match (part("projectId"), part("datasetId"), part("tableId")) {
                (Some(project), Some(dataset), Some(table)) => Some(TableRef {
                    project,
                    dataset,
                    table,
                }),
                _ => None,
            },
        )
    }

    /// One tabledata.list page, unparsed.
    pub async fn table_page(
        &self,
        table: &TableRef,
        selected: Option<&str>,
        token: Option<&str>,
    ) -> Result<Vec<u8>> {
        let url = self.url(&[
            "projects",
            &table.project,
            "datasets",
            &table.dataset,
            "tables",
            &table.table,
            "data",
        ])?;
        let mut query = vec![
            ("maxResults", self.page_size.to_string()),
            ("formatOptions.useInt64Timestamp", "true".to_string()),
        ];
        if let Some(token) = token {
            query.push(("pageToken", token.to_string()));
        }
        if let Some(selected) = selected {
            query.push(("selectedFields", selected.to_string()));
        }
        self.call(|| self.http.get(url.clone()).query(&query))
            .await
            .map_err(|e| {
                let what = if e.not_found() {
                    "not found"
                } else {
                    "tabledata.list failed"
                };
                ConnectorError::Other(format!("{SECTION}: table {table}: {what}: {}", e.message))
            })
    }

    /// One getQueryResults page, unparsed (`token` none: the first page).
    pub async fn query_page(&self, job: &JobRef, token: Option<&str>) -> Result<Vec<u8>> {
        let url = self.url(&["projects", &job.project, "queries", &job.job_id])?;
        let mut query = vec![
            ("maxResults", self.page_size.to_string()),
            ("timeoutMs", QUERY_WAIT_MS.to_string()),
            ("formatOptions.useInt64Timestamp", "true".to_string()),
        ];
        if let Some(token) = token {
            query.push(("pageToken", token.to_string()));
        }
        if let Some(location) = &job.location {
            query.push(("location", location.clone()));
        }
        self.call(|| self.http.get(url.clone()).query(&query))
            .await
            .map_err(|e| {
                ConnectorError::Other(format!(
                    "{SECTION}: query job {job}: getQueryResults failed: {}",
                    e.message
                ))
            })
    }

    /// `base` + path segments (each percent-encoded).
    fn url(&self, segments: &[&str]) -> Result<reqwest::Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| {
                ConnectorError::config(
                    format!("{SECTION}.endpoint"),
                    format!("{} cannot take a path", self.base),
                )
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Send the request `make` builds, with credentials, retrying 429, 5xx and timeouts; the
    /// body of a successful answer.
    async fn call(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> std::result::Result<Vec<u8>, CallError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pause = Duration::from_millis(500 << attempt.min(6));
            let mut request = make();
            let bearer = self.credentials.bearer().await.map_err(|e| CallError {
                status: None,
                reasons: Vec::new(),
                message: e.to_string(),
            })?;
            if let Some(bearer) = bearer {
                request = request.header(reqwest::header::AUTHORIZATION, bearer);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) if e.is_timeout() && attempt < ATTEMPTS => {
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Err(e) => {
                    return Err(CallError {
                        status: None,
                        reasons: Vec::new(),
                        message: chain(&e),
                    })
                }
            };
            let status = response.status();
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::debug!("{SECTION}: reading an answer failed, retrying: {e}");
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Err(e) => {
                    return Err(CallError {
                        status: Some(status.as_u16()),
                        reasons: Vec::new(),
                        message: chain(&e),
                    })
                }
            };
            if status.is_success() {
                return Ok(body.to_vec());
            }
            let retryable =
                status.as_u16() == 429 || matches!(status.as_u16(), 500 | 502 | 503 | 504);
            if retryable && attempt < ATTEMPTS {
                tracing::debug!("{SECTION}: HTTP {status}, retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
            let detail = serde_json::from_slice::<ErrorBody>(&body)
                .ok()
                .and_then(|b| b.error)
                .unwrap_or_default();
            let reasons = detail
                .errors
                .iter()
                .flatten()
                .filter_map(|e| e.reason.clone())
                .collect();
            let message = match detail.message {
                Some(message) => format!("HTTP {status}: {message}"),
                None => format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                ),
            };
            return Err(CallError {
                status: Some(status.as_u16()),
                reasons,
                message,
            });
        }
    }
}

fn messages(errors: &[ErrorProto]) -> String {
    let texts: Vec<&str> = errors
        .iter()
        .filter_map(|e| e.message.as_deref().or(e.reason.as_deref()))
        .collect();
    texts.join("; ")
}

pub(super) fn parse_page(raw: &[u8]) -> std::result::Result<Page, String> {
    serde_json::from_slice(raw).map_err(|e| format!("unreadable result page: {e}"))
}

/// The errors of a page that carries no result: how some servers (the BigQuery emulator) report
/// a failed query with HTTP 200. Errors next to a result are warnings.
pub(super) fn page_failure(page: &Page) -> Option<String> {
    let errors = page.errors.as_deref().unwrap_or_default();
    let has_result = page.schema.as_ref().is_some_and(|s| !s.fields.is_empty())
        || page.rows.as_ref().is_some_and(|r| !r.is_empty());
    (!errors.is_empty() && !has_result).then(|| messages(errors))
}
