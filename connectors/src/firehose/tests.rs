//! The `firehose` target against the AWS-compatible test server of `scripts/services.sh` (moto,
//! which delivers each PutRecordBatch call to S3 at once, as one object), directly or through
//! a proxy that makes records fail.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde_json::json;

use super::{Config, Decimals, FirehoseTarget};
use crate::row_name;
use crate::TargetConnector as _;
use crate::{ReplicationMode, TargetContext, KEY_METADATA};

/// A column marked as the source's key.
pub(super) fn key_field(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, false).with_metadata(HashMap::from([(
        KEY_METADATA.to_string(),
        "true".to_string(),
    )]))
}

#[test]
fn defaults_and_schema() {
    let config: Config = serde_json::from_value(json!({ "delivery_stream": "orders" })).unwrap();
    assert_eq!(
        (
            config.batch_size,
            config.concurrency,
            config.max_attempts,
            config.rate_limit,
            config.newline_delimited,
            config.decimals,
        ),
        (500, 1, 5, None, true, Decimals::String)
    );
    config.check().unwrap();
    let schema = serde_json::to_value(crate::target_entry("firehose").unwrap().schema()).unwrap();
    assert_eq!(schema["required"], json!(["delivery_stream"]));
    assert_eq!(schema["additionalProperties"], json!(false));
    assert!(schema["properties"]["batch_size"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("500")));
}

#[test]
fn config_problems_are_reported_together_and_target_id_needs_no_network() {
    let config: Config = serde_json::from_value(json!({
        "delivery_stream": "bad name!",
        "batch_size": 501,
        "concurrency": 0,
        "rate_limit": 0,
        "max_attempts": 0,
        "secret_access_key": "s",
    }))
    .unwrap();
    let err = config.check().unwrap_err().to_string();
    for key in [
        "delivery_stream",
        "batch_size",
        "concurrency",
        "rate_limit",
        "max_attempts",
        "access_key_id",
    ] {
        assert!(
            err.contains(&format!("target.firehose.{key}:")),
            "{key}: {err}"
        );
    }

    let entry = crate::target_entry("firehose").unwrap();
    assert_eq!(
        entry.target_id(&json!({ "delivery_stream": "orders" })),
        "orders"
    );
    // A section the connector cannot read still gets an id (its type), never an error.
    assert_eq!(
        entry.target_id(&json!({ "delivery_stream": "orders", "colour": 1 })),
        "firehose"
    );
    let err = entry
        .parse(
            &json!({ "delivery_stream": "orders", "colour": 1 }),
            crate::ReplicationMode::FullTable,
        )
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("target.firehose.colour:"), "{err}");
}

#[tokio::test]
async fn incremental_runs_are_refused_before_connecting() {
    let config: Config = serde_json::from_value(json!({
        "delivery_stream": "orders",
        "region": "eu-west-1",
    }))
    .unwrap();
    let err = FirehoseTarget::open(
        config,
        TargetContext {
            replication_mode: ReplicationMode::Incremental,
            run_id: "test".into(),
        },
    )
    .await
    .err()
    .expect("INCREMENTAL is refused")
    .to_string();
    assert!(
        err.starts_with("replication_mode:")
            && err.contains("FULL_TABLE")
            && err.contains("orders"),
        "{err}"
    );
}

#[test]
fn rows_are_named_by_their_key_or_their_position() {
    let keyed = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("v", DataType::Utf8, true),
            key_field("code", DataType::Utf8),
        ])),
        vec![
            Arc::new(StringArray::from(vec![Some("a"), None])),
            Arc::new(StringArray::from(vec!["first", "second"])),
        ],
    )
    .unwrap();
    assert_eq!(
        row_name(&keyed, 1, 3),
        "the row with code = second (batch 3)"
    );

    let plain = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from(vec![10, 20]))],
    )
    .unwrap();
    assert_eq!(row_name(&plain, 1, 3), "row 2 of batch 3");
}
