//! The example transforms do what their configs say, through `fastlane run`.

mod common;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use common::*;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Generate `rows` orders, run them through `transform` with `config`, return the output.
fn run_generated(
    rows: u64,
    transform: &str,
    config: serde_json::Value,
    extra: serde_json::Value,
) -> (RecordBatch, RecordBatch) {
    let dir = tempfile::tempdir().unwrap();
    let source = json!({ "generate": { "rows": rows, "batch_size": 1000, "seed": 11 } });
    assert_ok(&run_config(
        dir.path(),
        &json!({ "source": source, "target": { "file": { "path": "in.parquet" } } }),
        &[],
    ));
    let mut section = json!({ "wasm": wasm(transform), "concurrency": 2, "config": config });
    if let (Some(s), Some(e)) = (section.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    let out = run_config(
        dir.path(),
        &json!({ "source": source, "transform": section, "target": { "file": { "path": "out.parquet" } } }),
        &[],
    );
    assert_ok(&out);
    (
        read_parquet(&dir.path().join("in.parquet")),
        read_parquet(&dir.path().join("out.parquet")),
    )
}

#[test]
fn filter_keeps_exactly_the_matching_rows_in_order() {
    let (input, output) = run_generated(
        10_000,
        "filter",
        json!({ "column": "quantity", "op": "ge", "value": 5 }),
        json!({}),
    );
    let qty = input
        .column_by_name("quantity")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int32Type>();
    let ids = input
        .column_by_name("id")
        .unwrap()
        .as_primitive::<Int64Type>();
    let expected: Vec<i64> = (0..input.num_rows())
        .filter(|&i| qty.is_valid(i) && qty.value(i) >= 5)
        .map(|i| ids.value(i))
        .collect();
    let got: Vec<i64> = output
        .column_by_name("id")
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec();
    assert!(
        !expected.is_empty() && expected.len() < input.num_rows(),
        "the test data must exercise the filter"
    );
    assert_eq!(got, expected);
    assert_eq!(output.schema(), input.schema());
}

#[test]
fn mask_hashes_configured_columns_and_keeps_nulls() {
    let salt = "s1";
    let (input, output) = run_generated(
        3_000,
        "mask",
        json!({ "columns": ["email", "note"], "method": "hash", "salt": salt }),
        json!({}),
    );
    assert_eq!(output.num_rows(), input.num_rows());
    for column in ["email", "note"] {
        let before = input.column_by_name(column).unwrap().as_string::<i32>();
        let after = output.column_by_name(column).unwrap().as_string::<i32>();
        for i in 0..before.len() {
            if before.is_null(i) {
                assert!(after.is_null(i), "{column} row {i}: null must stay null");
            } else {
                let expected = hex::encode(Sha256::digest(format!("{salt}{}", before.value(i))));
                assert_eq!(after.value(i), expected, "{column} row {i}");
            }
        }
    }
    // Untouched columns are untouched.
    assert_eq!(
        input.column_by_name("name").unwrap(),
        output.column_by_name("name").unwrap()
    );
}

#[test]
fn mask_redacts() {
    let (input, output) = run_generated(
        500,
        "mask",
        json!({ "columns": ["name"], "method": "redact" }),
        json!({}),
    );
    let after = output.column_by_name("name").unwrap().as_string::<i32>();
    let before = input.column_by_name("name").unwrap().as_string::<i32>();
    for i in 0..after.len() {
        assert_eq!(after.is_null(i), before.is_null(i));
        if after.is_valid(i) {
            assert_eq!(after.value(i), "***");
        }
    }
}

#[test]
fn derive_appends_a_computed_column_and_op_fields() {
    let (input, output) = run_generated(
        2_000,
        "derive",
        json!({ "column": "line_total", "op": "multiply", "left": "unit_price", "right": "quantity" }),
        json!({ "add_op_fields": true }),
    );
    let n = input.num_columns();
    assert_eq!(
        output.num_columns(),
        n + 3,
        "derived column plus _op_type and _op_timestamp"
    );
    assert_eq!(output.schema().field(n).name(), "line_total");
    assert_eq!(output.schema().field(n).data_type(), &DataType::Float64);
    assert_eq!(output.schema().field(n + 1).name(), "_op_type");
    assert_eq!(output.schema().field(n + 2).name(), "_op_timestamp");
    let price = input
        .column_by_name("unit_price")
        .unwrap()
        .as_primitive::<Float64Type>();
    let qty = input
        .column_by_name("quantity")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int32Type>();
    let total = output
        .column_by_name("line_total")
        .unwrap()
        .as_primitive::<Float64Type>();
    for i in 0..input.num_rows() {
        if price.is_null(i) || qty.is_null(i) {
            assert!(total.is_null(i));
        } else {
            assert_eq!(
                total.value(i),
                price.value(i) * qty.value(i) as f64,
                "row {i}"
            );
        }
    }
    let op = output
        .column_by_name("_op_type")
        .unwrap()
        .as_string::<i32>();
    assert!(op.iter().all(|v| v == Some("i")));
}

#[test]
fn a_filter_that_drops_everything_empties_the_table_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let source = json!({ "generate": { "rows": 5_000, "batch_size": 1000 } });
    assert_ok(&run_config(
        dir.path(),
        &json!({ "source": source, "target": { "file": { "path": "t.parquet" } } }),
        &[],
    ));
    let full = read_parquet(&dir.path().join("t.parquet"));
    let mut config = json!({
        "source": source,
        "transform": { "wasm": wasm("filter"), "config": { "column": "id", "op": "lt", "value": 0 } },
        "target": { "file": { "path": "t.parquet" } }
    });
    // Not asked for: the run fails and the table stays whole.
    let out = run_config(dir.path(), &config, &[]);
    assert_fails(
        &out,
        1,
        &["the transform dropped all 5000 rows", "allow_empty"],
    );
    assert_eq!(
        read_parquet(&dir.path().join("t.parquet")).num_rows(),
        5_000
    );
    config["allow_empty"] = json!(true);
    let out = run_config(dir.path(), &config, &["--summary-json", "s.json"]);
    assert_ok(&out);
    let empty = read_parquet(&dir.path().join("t.parquet"));
    assert_eq!(empty.num_rows(), 0);
    assert_eq!(empty.schema(), full.schema());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("s.json")).unwrap()).unwrap();
    assert_eq!(summary["rows_dropped"], 5_000);
}
