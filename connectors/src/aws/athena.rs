//! Athena: run a statement in a work group and wait for it; read one row of a query's result.
//! fastlane uses it for the original layout's view (`CREATE OR REPLACE VIEW`) and for the
//! INCREMENTAL offset read over that view.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::json_api::JsonApi;
use crate::{ConnectorError, Result};

/// Longest wait for one statement.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// First pause between status polls; it grows to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(5);

/// A client of Athena, bound to a work group.
#[derive(Clone, Debug)]
pub struct Athena {
    api: JsonApi,
    work_group: String,
    /// `s3://…` where results go, when the work group does not set it.
    output: Option<String>,
}

/// `"name"`, with inner quotes doubled: an identifier in Athena's SQL.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Athena {
    /// A client sending through `api` (for [`super::json_api::Service::Athena`]).
    pub fn new(api: JsonApi, work_group: &str, output: Option<&str>) -> Self {
        Self {
            api,
            work_group: work_group.to_string(),
            output: output.map(str::to_string),
        }
    }

    /// Run `statement` with `database` as the default database and wait until it succeeds;
    /// returns the query execution id.
    pub async fn run(&self, statement: &str, database: &str) -> Result<String> {
        let what = format!("Athena (work group {})", self.work_group);
        let mut request = json!({
            "QueryString": statement,
            "QueryExecutionContext": {"Database": database},
            "WorkGroup": self.work_group,
            // Idempotent: a retried start does not run the statement twice.
            "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(output) = &self.output {
            request["ResultConfiguration"] = json!({"OutputLocation": output});
        }
        let started = self
            .api
            .call("StartQueryExecution", &request)
            .await
            .map_err(|e| {
                ConnectorError::Other(format!("{what}: starting `{}`: {e}", first_line(statement)))
            })?;
        let id = started["QueryExecutionId"]
            .as_str()
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "{what}: StartQueryExecution answered without an id"
                ))
            })?
            .to_string();
        let begun = Instant::now();
        let mut pause = FIRST_POLL;
        loop {
            let answer = self
                .api
                .call("GetQueryExecution", &json!({"QueryExecutionId": id}))
                .await
                .map_err(|e| ConnectorError::Other(format!("{what}: query {id}: {e}")))?;
            let status = &answer["QueryExecution"]["Status"];
            match status["State"].as_str().unwrap_or_default() {
                "SUCCEEDED" => return Ok(id),
                state @ ("FAILED" | "CANCELLED") => {
                    let reason = status["StateChangeReason"]
                        .as_str()
                        .or_else(|| status["AthenaError"]["ErrorMessage"].as_str())
                        .unwrap_or("no reason given");
                    return Err(ConnectorError::Other(format!(
                        "{what}: `{}` {}: {reason} (query {id})",
                        first_line(statement),
                        state.to_ascii_lowercase()
                    )));
                }
                _ => {}
            }
            if begun.elapsed() > STATEMENT_TIMEOUT {
                // Best effort: a statement left running would finish after we gave up.
                let _ = self
                    .api
                    .call("StopQueryExecution", &json!({"QueryExecutionId": id}))
                    .await;
                return Err(ConnectorError::Other(format!(
                    "{what}: `{}` did not finish within {} min (query {id}, stopped)",
                    first_line(statement),
                    STATEMENT_TIMEOUT.as_secs() / 60
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Run a query that returns one row and return that row's values (`None` for a null).
    pub async fn first_row(&self, query: &str, database: &str) -> Result<Vec<Option<String>>> {
        let id = self.run(query, database).await?;
        let answer = self
            .api
            .call(
                "GetQueryResults",
                &json!({"QueryExecutionId": id, "MaxResults": 2}),
            )
            .await
            .map_err(|e| ConnectorError::Other(format!("Athena: results of query {id}: {e}")))?;
        // The first row of a SELECT's results holds the column names.
        let rows = answer["ResultSet"]["Rows"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(row) = rows.get(1) else {
            return Ok(Vec::new());
        };
        Ok(row["Data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                d.get("VarCharValue")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect())
    }
}

fn first_line(statement: &str) -> &str {
    statement.lines().next().unwrap_or_default()
}
