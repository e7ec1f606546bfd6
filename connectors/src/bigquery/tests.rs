//! Tests that need no server.

use serde_json::json;

use super::{BigQuerySource, Config};
use crate::SourceConnector as _;
use crate::{ReplicationMode, SourceContext};

#[tokio::test]
async fn incremental_runs_are_refused() {
    let config: Config = serde_json::from_value(json!({
        "gcp_project": "p", "dataset_id": "d", "table_id": "t", "endpoint": "http://127.0.0.1:1",
    }))
    .unwrap();
    let context = SourceContext {
        replication_mode: ReplicationMode::Incremental,
        resume_after: None,
    };
    let err = BigQuerySource::open(config, context)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("source.bigquery: INCREMENTAL replication is not supported"),
        "{err}"
    );
}
