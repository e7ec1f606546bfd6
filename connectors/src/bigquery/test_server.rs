//! The emulator the `bigquery` source's tests talk to (started by `scripts/services.sh up
//! bigquery`, found through `FASTLANE_TEST_BIGQUERY_*`): a dataset of its own per test, tables
//! created and filled through the REST API, and helpers to read a source to the end.

use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{concat_batches, sort_to_indices, take_record_batch};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use serde_json::{json, Value};

use super::{BigQuerySource, Config};
use crate::SourceConnector as _;
use crate::{Source, SourceContext};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A `FASTLANE_TEST_BIGQUERY_*` variable (panics with the command to run when it is not set).
fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the test services with \
             `eval \"$(scripts/services.sh up bigquery)\"` (scripts/test.sh does)"
        )
    })
}

/// One test at a time talks to the emulator: bqemulator 1.4 runs every request on one shared
/// DuckDB connection from a thread pool, so concurrent requests read each other's results (a
/// page of one table answered with another table's rows and row count).
static EMULATOR: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A dataset of its own on the emulator (and the emulator to itself while the test runs).
pub(super) struct TestBq {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    http: reqwest::Client,
    /// REST endpoint: `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Storage Read API (gRPC) endpoint: `http://127.0.0.1:PORT`.
    pub grpc: String,
    /// The emulator's project.
    pub project: String,
    /// This test's dataset.
    pub dataset: String,
}

impl TestBq {
    /// Create the dataset `fl_{tag}_{pid}_{n}` (dropped first if a previous run left it).
    pub(super) async fn new(tag: &str) -> Self {
        let bq = Self {
            _turn: EMULATOR.lock().await,
            http: reqwest::Client::new(),
            endpoint: var("FASTLANE_TEST_BIGQUERY_ENDPOINT"),
            grpc: var("FASTLANE_TEST_BIGQUERY_GRPC"),
            project: var("FASTLANE_TEST_BIGQUERY_PROJECT"),
            dataset: format!(
                "fl_{tag}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let _ = bq
            .http
            .delete(bq.url(&format!("datasets/{}?deleteContents=true", bq.dataset)))
            .send()
            .await;
        bq.post(
            "datasets",
            json!({ "datasetReference": { "projectId": bq.project, "datasetId": bq.dataset } }),
        )
        .await;
        bq
    }

    /// `…/bigquery/v2/projects/{project}/{path}`.
    fn url(&self, path: &str) -> String {
        format!(
            "{}/bigquery/v2/projects/{}/{path}",
            self.endpoint, self.project
        )
    }

    /// POST `body`; panics on an HTTP error or errors in the answer.
    pub(super) async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("the emulator answers");
        let status = response.status();
        let answer: Value = response.json().await.expect("a JSON answer");
        let errors = answer["errors"].as_array().is_some_and(|e| !e.is_empty())
            || answer["insertErrors"]
                .as_array()
                .is_some_and(|e| !e.is_empty());
        assert!(
            status.is_success() && !errors,
            "POST {path}: {status}: {answer}"
        );
        answer
    }

    pub(super) async fn create_table(&self, table: &str, fields: Value) {
        self.post(
            &format!("datasets/{}/tables", self.dataset),
            json!({
                "tableReference": { "projectId": self.project, "datasetId": self.dataset,
                                    "tableId": table },
                "schema": { "fields": fields },
            }),
        )
        .await;
    }

    /// tabledata.insertAll.
    pub(super) async fn insert(&self, table: &str, rows: Vec<Value>) {
        let rows: Vec<Value> = rows.into_iter().map(|row| json!({ "json": row })).collect();
        self.post(
            &format!("datasets/{}/tables/{table}/insertAll", self.dataset),
            json!({ "rows": rows }),
        )
        .await;
    }

    /// Run a statement (DDL, DML) as a query job.
    pub(super) async fn query(&self, sql: &str) {
        self.post("queries", json!({ "query": sql, "useLegacySql": false }))
            .await;
    }

    /// `project.dataset.table`, quoted for SQL.
    pub(super) fn sql_name(&self, table: &str) -> String {
        format!("`{}.{}.{table}`", self.project, self.dataset)
    }

    /// A source section reading `table` over REST.
    pub(super) fn section(&self, table: &str) -> Value {
        json!({
            "gcp_project": self.project, "dataset_id": self.dataset, "table_id": table,
            "endpoint": self.endpoint, "read_api": "rest",
        })
    }

    /// A source section reading `table` through the Storage Read API.
    pub(super) fn storage_section(&self, table: &str) -> Value {
        let mut section = self.section(table);
        section["storage_endpoint"] = json!(self.grpc);
        section["read_api"] = json!("storage");
        section
    }
}

/// Open a `bigquery` source (FULL_TABLE) on `section`.
pub(super) async fn open(section: Value) -> crate::Result<BigQuerySource> {
    let config: Config = serde_json::from_value(section).expect("a valid bigquery section");
    BigQuerySource::open(config, SourceContext::default()).await
}

/// Every batch of a `bigquery` source on `section`, in the order they came.
pub(super) async fn read_all(section: Value) -> Vec<RecordBatch> {
    let mut source = open(section).await.expect("the source opens");
    let mut batches = Vec::new();
    while let Some(batch) = source.extract().await.expect("extract") {
        batches.push(batch);
    }
    batches
}

/// Every batch in one, sorted by the Int64 column `key`.
pub(super) fn sorted(batches: &[RecordBatch], key: &str) -> RecordBatch {
    let schema = batches[0].schema();
    for batch in batches {
        assert_eq!(batch.schema(), schema, "every batch has the same schema");
    }
    let all = concat_batches(&schema, batches).unwrap();
    let indices = sort_to_indices(all.column_by_name(key).unwrap(), None, None).unwrap();
    take_record_batch(&all, &indices).unwrap()
}

/// The column `name` of `batch`.
pub(super) fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// An Int64 column's values.
pub(super) fn ints(array: &dyn Array) -> Vec<Option<i64>> {
    array.as_primitive::<Int64Type>().iter().collect()
}

/// A Utf8 column's values.
pub(super) fn texts(array: &dyn Array) -> Vec<Option<String>> {
    array
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}
