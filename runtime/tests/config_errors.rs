//! Bad configs: every problem is reported at once, each with its JSON path, before anything
//! connects; exit code 2.

mod common;

use common::*;
use serde_json::json;

#[test]
fn every_problem_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_config(
        dir.path(),
        &json!({
            "source": { "generate": { "rows": "many", "colour": 1 } },
            "target": { "file": { "compression": "zstd" } },
            "max_buffered_batches": 0,
            "replication_mode": "SOMETIMES",
            "extra_key": true,
            "transform": { "concurrency": "two" }
        }),
        &[],
    );
    assert_fails(
        &out,
        2,
        &[
            "extra_key: unknown field",
            "max_buffered_batches",
            "replication_mode: \"SOMETIMES\" is not one of \"FULL_TABLE\", \"INCREMENTAL\"",
            "transform.concurrency",
            "4 problems",
        ],
    );
    // The document shape was wrong, so connector sections were not checked yet; fix it and see them.
    let out = run_config(
        dir.path(),
        &json!({
            "source": { "generate": { "rows": "many", "colour": 1 } },
            "target": { "file": { "compression": "zstd" } }
        }),
        &[],
    );
    assert_fails(
        &out,
        2,
        &[
            "source.generate.rows",
            "source.generate.colour: unknown field",
            "target.file.path: required field is missing",
            "3 problems",
        ],
    );
}

#[test]
fn unknown_connector_and_ambiguous_sections_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_config(
        dir.path(),
        &json!({ "source": { "oracle": {} }, "target": { "file": { "path": "x.csv" } } }),
        &[],
    );
    assert_fails(
        &out,
        2,
        &[
            "source.oracle: unknown source type 'oracle'",
            "available: bigquery, file, generate, mongodb, mysql",
        ],
    );
    let out = run_config(
        dir.path(),
        &json!({ "source": { "generate": {}, "file": { "path": "a.csv" } }, "target": { "file": { "path": "x.csv" } } }),
        &[],
    );
    assert_fails(&out, 2, &["several sources configured", "--source"]);
    // --source picks one of them.
    let out = run_config(
        dir.path(),
        &json!({ "source": { "generate": { "rows": 10 }, "file": { "path": "a.csv" } }, "target": { "file": { "path": "x.csv" } } }),
        &["--source", "generate"],
    );
    assert_ok(&out);
}

#[test]
fn env_references_are_resolved_or_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = json!({ "source": { "generate": { "rows": 5 } }, "target": { "file": { "path": "${FASTLANE_TEST_OUT_DIR}/x.csv" } } });
    let out = run_config(dir.path(), &config, &[]);
    assert_fails(&out, 2, &["target.file.path", "FASTLANE_TEST_OUT_DIR"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "pipeline.json"])
        .current_dir(dir.path())
        .env("FASTLANE_TEST_OUT_DIR", "resolved")
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(dir.path().join("resolved/x.csv").is_file());
}

#[test]
fn broken_json_and_missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pipeline.json"), "{ \"source\": { ").unwrap();
    assert_fails(
        &fastlane(dir.path(), &["run", "--config", "pipeline.json"]),
        2,
        &["not valid JSON", "line 1"],
    );
    assert_fails(
        &fastlane(dir.path(), &["run", "--config", "nope.json"]),
        2,
        &["nope.json"],
    );
    let out = run_config(
        dir.path(),
        &json!({ "source": { "file": { "path": "missing/orders.csv" } }, "target": { "file": { "path": "x.csv" } } }),
        &[],
    );
    assert_fails(&out, 1, &["missing/orders.csv"]);
    let out = run_config(
        dir.path(),
        &json!({ "source": { "generate": {} }, "target": { "file": { "path": "x.csv" } } }),
        &["--transform", "absent.wasm"],
    );
    assert_fails(&out, 1, &["absent.wasm", "cannot read"]);
}

#[test]
fn transform_config_is_checked_against_its_describe_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_config(
        dir.path(),
        &json!({
            "source": { "generate": { "rows": 10 } },
            "transform": { "wasm": wasm("filter"), "config": { "column": 5, "op": "between" } },
            "target": { "file": { "path": "x.csv" } }
        }),
        &[],
    );
    assert_fails(&out, 2, &["transform.config.column", "transform.config.op"]);
    assert!(!dir.path().join("x.csv").exists());
}

#[test]
fn connectors_lists_and_prints_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let out = fastlane(dir.path(), &["connectors"]);
    assert_ok(&out);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("generate") && listing.contains("file"),
        "{listing}"
    );
    let out = fastlane(dir.path(), &["connectors", "--schema", "target:file"]);
    assert_ok(&out);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(schema["properties"]["path"].is_object(), "{schema}");
}

#[test]
fn nonsense_values_are_refused_by_validate_exactly_as_by_run() {
    let dir = tempfile::tempdir().unwrap();
    let mysql = |extra: serde_json::Value| {
        let mut section =
            json!({ "host": "127.0.0.1", "port": 1, "username": "u", "db": "d", "table": "t" });
        for (k, v) in extra.as_object().unwrap() {
            section[k] = v.clone();
        }
        json!({ "source": { "generate": { "rows": 1 } }, "target": { "mysql": section } })
    };
    let cases = [
        (mysql(json!({ "port": 0 })), "target.mysql.port"),
        (mysql(json!({ "host": "" })), "target.mysql.host"),
        (mysql(json!({ "table": "" })), "target.mysql.table"),
        (
            mysql(json!({ "connect_timeout_s": 0 })),
            "target.mysql.connect_timeout_s",
        ),
        (
            mysql(json!({ "connect_timeout_s": u64::MAX })),
            "target.mysql.connect_timeout_s",
        ),
        (
            mysql(json!({ "batch_size": 9_223_372_036_854_775_808u64 })),
            "target.mysql.batch_size",
        ),
        (
            mysql(json!({ "password_env": "FASTLANE_TEST_SURELY_UNSET" })),
            "target.mysql.password_env",
        ),
        (
            json!({ "source": { "generate": { "batch_size": 9_223_372_036_854_775_807u64 } },
                    "target": { "file": { "path": "o.csv" } } }),
            "source.generate.batch_size",
        ),
        (
            json!({ "source": { "generate": {} }, "target": { "file": { "path": "" } } }),
            "target.file.path",
        ),
        (
            json!({ "source": { "generate": {} },
                    "target": { "s3": { "bucket": "b", "region": "us-east-1\n" } } }),
            "target.s3.region",
        ),
        (
            json!({ "source": { "generate": {} },
                    "target": { "firehose": { "delivery_stream": "s" } },
                    "replication_mode": "INCREMENTAL" }),
            "replication_mode",
        ),
        (
            json!({ "source": { "generate": {} }, "target": { "file": { "path": "o.csv" } },
                    "transform": { "wasm": "x.wasm", "limits": { "call_timeout_ms": 0 } } }),
            "transform.limits.call_timeout_ms",
        ),
    ];
    for (config, path) in cases {
        std::fs::write(dir.path().join("pipeline.json"), config.to_string()).unwrap();
        let validate = fastlane(dir.path(), &["validate", "--config", "pipeline.json"]);
        assert_fails(&validate, 2, &[path]);
        let run = fastlane(dir.path(), &["run", "--config", "pipeline.json"]);
        assert_fails(&run, 2, &[path]);
    }
}
