//! MySQL → Wasm → S3 and Secrets Manager through the `fastlane` binary, against the real MariaDB
//! and the AWS-compatible server of `scripts/services.sh`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use fastlane_connectors::aws_test_support::TestAws;
use fastlane_connectors::test_support::MySqlTestDb;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

use common::{assert_fails, assert_ok, summary, text, wasm};

/// `fastlane run --config pipeline.json EXTRA…` in `dir`, reaching the test server through the
/// standard AWS environment.
fn run(aws: &TestAws, dir: &Path, config: &Value, extra: &[&str]) -> Output {
    std::fs::write(dir.join("pipeline.json"), config.to_string()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "pipeline.json"])
        .args(extra)
        .current_dir(dir)
        .env("FASTLANE_CACHE_DIR", common::cache_dir())
        .env_remove("RUST_LOG")
        .envs(aws.child_env())
        .output()
        .expect("the fastlane binary runs")
}

async fn events_table(db: &MySqlTestDb, from: i64, to: i64) {
    db.exec(
        "CREATE TABLE IF NOT EXISTS events (id BIGINT PRIMARY KEY, kind VARCHAR(16) NOT NULL, \
         amount DECIMAL(12,2), at DATETIME NOT NULL)",
    )
    .await;
    db.exec(&format!(
        "INSERT INTO events SELECT seq, ELT(1 + seq % 3, 'view', 'click', 'buy'), \
         IF(seq % 7 = 0, NULL, (seq % 100000) / 100), '2024-01-01 00:00:00' + INTERVAL seq SECOND \
         FROM seq_{from}_to_{to}"
    ))
    .await;
}

/// Ids of every row in the Parquet objects under `prefix`, sorted.
async fn ids_in_s3(aws: &TestAws, bucket: &str, prefix: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for (key, body) in aws.objects(bucket, prefix).await {
        if !key.ends_with(".parquet") {
            continue;
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(body))
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let column = arrow::compute::cast(
                batch.column_by_name("id").unwrap(),
                &arrow::datatypes::DataType::Int64,
            )
            .unwrap();
            let column = column
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap();
            ids.extend(column.values().iter().copied());
        }
    }
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn mysql_to_s3_incremental_reruns_add_only_new_rows() {
    let aws = TestAws::from_env();
    let db = MySqlTestDb::new("e2e_s3").await;
    events_table(&db, 1, 20_000).await;
    let bucket = aws.bucket("e2e-s3").await;
    let mut source = db.section("events");
    source["key"] = json!("id");
    source["batch_size"] = json!(3000);
    let config = json!({
        "source": { "mysql": source },
        "transform": { "wasm": wasm("passthrough"), "concurrency": 2 },
        "target": { "s3": { "bucket": bucket, "prefix": "events", "concurrency": 2, "batch_size": 8000 } },
        "replication_mode": "INCREMENTAL",
    });
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &aws,
        dir.path(),
        &config,
        &["--summary-json", "summary.json"],
    );
    assert_ok(&out);
    assert_eq!(
        ids_in_s3(&aws, &bucket, "events/").await,
        (1..=20_000).collect::<Vec<_>>()
    );

    events_table(&db, 20_001, 20_500).await;
    let out = run(
        &aws,
        dir.path(),
        &config,
        &["--summary-json", "summary.json"],
    );
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(500),
        "the rerun resumes after the largest key written\n{}",
        text(&out)
    );
    assert_eq!(
        ids_in_s3(&aws, &bucket, "events/").await,
        (1..=20_500).collect::<Vec<_>>()
    );
    db.drop().await;
}

#[tokio::test]
async fn a_missing_bucket_fails_the_run_before_data_moves() {
    let aws = TestAws::from_env();
    let dir = tempfile::tempdir().unwrap();
    let config = json!({
        "source": { "generate": { "rows": 1000 } },
        "target": { "s3": { "bucket": "fl-e2e-no-such-bucket" } },
    });
    let out = run(&aws, dir.path(), &config, &[]);
    assert_fails(
        &out,
        1,
        &["bucket 'fl-e2e-no-such-bucket'", "does not exist"],
    );
}

/// A secret in the test server's Secrets Manager, in the environment's region.
async fn put_secret(aws: &TestAws, name: &str, value: &Value) {
    put_secret_in(aws, &aws.region, name, value).await;
}

/// A secret in the test server's Secrets Manager, in `region`.
async fn put_secret_in(aws: &TestAws, region: &str, name: &str, value: &Value) {
    let conf = aws_sdk_secretsmanager::config::Builder::from(&aws.sdk_config().await)
        .region(aws_sdk_secretsmanager::config::Region::new(
            region.to_string(),
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating secret {name}: {e:?}"));
}

#[tokio::test]
async fn a_secret_fills_the_connection_keys_and_its_mistakes_name_it() {
    let aws = TestAws::from_env();
    let db = MySqlTestDb::new("e2e_secret").await;
    events_table(&db, 1, 1000).await;
    let name = fastlane_connectors::aws_test_support::unique_name("db");
    // The way RDS stores it: the port as text, an engine, the password.
    put_secret(
        &aws,
        &name,
        &json!({
            "engine": "mariadb", "host": db.host, "port": db.port.to_string(),
            "username": db.user, "password": "", "dbname": db.name,
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let with_source = |source: Value| {
        json!({
            "source": { "mysql": source },
            "target": { "file": { "path": "out.parquet" } },
        })
    };
    // Only the table and the secret: host, port, user and database come from the secret.
    let config = with_source(
        json!({ "secret": name, "secret_region": aws.region, "table": "events", "key": "id" }),
    );
    let out = run(
        &aws,
        dir.path(),
        &config,
        &["--summary-json", "summary.json"],
    );
    assert_ok(&out);
    assert_eq!(summary(dir.path())["rows_loaded"], json!(1000));

    // What the config sets wins over the secret: a wrong port in the config is used (and fails).
    let config = with_source(
        json!({ "secret": name, "table": "events", "key": "id", "port": 1, "connect_timeout_s": 2 }),
    );
    let out = run(&aws, dir.path(), &config, &[]);
    assert_fails(
        &out,
        1,
        &[&format!("{}:1/{}", db.host, db.name), "Connection refused"],
    );

    // A value of the secret that does not fit is named by its key, never shown.
    let bad_port = fastlane_connectors::aws_test_support::unique_name("port");
    put_secret(
        &aws,
        &bad_port,
        &json!({ "host": db.host, "port": "hunter2-port", "username": db.user }),
    )
    .await;
    let config = with_source(json!({ "secret": bad_port, "table": "events", "key": "id" }));
    let out = run(&aws, dir.path(), &config, &[]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("source.mysql.port"), "{}", text(&out));
    assert!(
        !stderr.contains("hunter2-port"),
        "the secret's value leaked\n{stderr}"
    );

    // A secret that does not exist.
    let config =
        with_source(json!({ "secret": "fl/no-such-secret", "table": "events", "key": "id" }));
    let out = run(&aws, dir.path(), &config, &[]);
    assert_fails(&out, 1, &["secret 'fl/no-such-secret'", "does not exist"]);

    // A secret without the needed fields: the missing key and the secret are named, no value is
    // shown.
    let partial = fastlane_connectors::aws_test_support::unique_name("partial");
    put_secret(
        &aws,
        &partial,
        &json!({ "port": 3306, "password": "hunter2-secret" }),
    )
    .await;
    let config = with_source(json!({ "secret": partial, "table": "events", "key": "id" }));
    let out = run(&aws, dir.path(), &config, &[]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("source.mysql.host") && stderr.contains(&format!("secret '{partial}'")),
        "{}",
        text(&out)
    );
    assert!(
        !stderr.contains("hunter2-secret"),
        "the secret's value leaked\n{stderr}"
    );
    db.drop().await;
}

#[tokio::test]
async fn the_original_ssm_region_finds_secrets_a_section_region_wins() {
    let aws = TestAws::from_env();
    let db = MySqlTestDb::new("e2e_ssm").await;
    events_table(&db, 1, 300).await;
    // The secret lives in another region than the environment's: only `ssm.region` finds it.
    let region = "eu-west-3";
    assert_ne!(aws.region, region);
    let name = fastlane_connectors::aws_test_support::unique_name("ssm");
    put_secret_in(
        &aws,
        region,
        &name,
        &json!({ "host": db.host, "port": db.port, "username": db.user, "password": "",
                 "dbname": db.name }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = json!({
        "ssm": { "region": region },
        "source": { "mysql": { "secret": name, "table": "events", "key": "id" } },
        "target": { "file": { "path": "out.parquet" } },
        "transform": { "add_op_fields": false },
    });
    let out = run(
        &aws,
        dir.path(),
        &config,
        &["--summary-json", "summary.json"],
    );
    assert_ok(&out);
    assert_eq!(summary(dir.path())["rows_loaded"], json!(300));
    // A section's own `secret_region` wins over `ssm`: the secret is not in that region.
    config["source"]["mysql"]["secret_region"] = json!(aws.region);
    let out = run(&aws, dir.path(), &config, &[]);
    assert_fails(&out, 1, &[&format!("secret '{name}'"), "does not exist"]);
    db.drop().await;
}
