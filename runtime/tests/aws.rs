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

/// What the recording Athena endpoint was sent: the operation, the request, and how many data
/// objects were visible under the table's location when it arrived.
#[derive(Clone, Debug)]
struct AthenaCall {
    operation: String,
    request: Value,
    visible: usize,
}

/// A stand-in for Athena's HTTP endpoint, owned by the test: it records every call, answers
/// statements as succeeded (or failed, when told), and answers a query's results with the row
/// the test sets. Not a mock of any client library: fastlane reaches it over HTTP, signed, as
/// it would reach Athena.
struct AthenaRecorder {
    url: String,
    calls: std::sync::Arc<std::sync::Mutex<Vec<AthenaCall>>>,
    /// The values of the one row `GetQueryResults` answers.
    row: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
    /// A reason to fail statements with, when set.
    fail: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl AthenaRecorder {
    async fn start(aws: TestAws, bucket: String, prefix: String) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::<AthenaCall>::new()));
        let row = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let fail = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let (c, r, f) = (calls.clone(), row.clone(), fail.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (calls, row, fail, aws, bucket, prefix) = (
                    c.clone(),
                    r.clone(),
                    f.clone(),
                    aws.clone(),
                    bucket.clone(),
                    prefix.clone(),
                );
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        // One whole request: the head, then Content-Length bytes of body.
                        let (head_len, body_len) = loop {
                            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                                let len = head
                                    .lines()
                                    .find_map(|l| l.strip_prefix("content-length:"))
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                                    .unwrap_or(0);
                                if buf.len() >= end + 4 + len {
                                    break (end + 4, len);
                                }
                            }
                            let mut chunk = [0u8; 16384];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_len]).to_lowercase();
                        let request: Value =
                            serde_json::from_slice(&buf[head_len..head_len + body_len]).unwrap();
                        buf.drain(..head_len + body_len);
                        assert!(
                            head.contains("authorization: aws4-hmac-sha256"),
                            "signed: {head}"
                        );
                        let operation = head
                            .lines()
                            .find_map(|l| l.strip_prefix("x-amz-target: amazonathena."))
                            .unwrap_or_default()
                            .trim()
                            .to_string();
                        let visible = if operation == "startqueryexecution" {
                            aws.objects(&bucket, &prefix)
                                .await
                                .iter()
                                .filter(|(k, _)| k.ends_with(".parquet"))
                                .count()
                        } else {
                            0
                        };
                        let n = {
                            let mut calls = calls.lock().unwrap();
                            calls.push(AthenaCall {
                                operation: operation.clone(),
                                request,
                                visible,
                            });
                            calls.len()
                        };
                        let answer = match operation.as_str() {
                            "startqueryexecution" => json!({"QueryExecutionId": format!("q{n}")}),
                            "getqueryexecution" => match fail.lock().unwrap().clone() {
                                Some(reason) => json!({"QueryExecution": {"Status": {
                                    "State": "FAILED", "StateChangeReason": reason}}}),
                                None => json!({"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}),
                            },
                            "getqueryresults" => {
                                let data: Vec<Value> = row
                                    .lock()
                                    .unwrap()
                                    .iter()
                                    .map(|v| match v {
                                        Some(v) => json!({"VarCharValue": v}),
                                        None => json!({}),
                                    })
                                    .collect();
                                json!({"ResultSet": {"Rows": [
                                    {"Data": [{"VarCharValue": "_col0"}, {"VarCharValue": "_col1"}]},
                                    {"Data": data}]}})
                            }
                            other => panic!("unexpected Athena call {other}"),
                        }
                        .to_string();
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url,
            calls,
            row,
            fail,
        }
    }

    fn take(&self) -> Vec<AthenaCall> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn statements(calls: &[AthenaCall]) -> Vec<&AthenaCall> {
        calls
            .iter()
            .filter(|c| c.operation == "startqueryexecution")
            .collect()
    }
}

/// A Glue client of the test server (fixtures and read-backs).
async fn glue_call(aws: &TestAws, operation: &str, body: Value) -> Value {
    use fastlane_connectors::aws::json_api::{JsonApi, Service};
    let api = JsonApi::new(Service::Glue, &aws.sdk_config().await, Some(&aws.endpoint)).unwrap();
    api.call(operation, &body)
        .await
        .unwrap_or_else(|e| panic!("{operation}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_glue_layout_repoints_the_athena_view_after_the_objects_are_committed() {
    let aws = TestAws::from_env();
    let db = MySqlTestDb::new("e2e_glue").await;
    events_table(&db, 1, 1000).await;
    let bucket = aws.bucket("e2e-glue").await;
    let lake = fastlane_connectors::aws_test_support::unique_name("lake").replace('-', "_");
    let views = format!("{lake}_views");
    glue_call(
        &aws,
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": lake}}),
    )
    .await;
    glue_call(
        &aws,
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": views}}),
    )
    .await;
    glue_call(
        &aws,
        "CreateTable",
        json!({"DatabaseName": lake, "TableInput": {
            "Name": "events",
            "StorageDescriptor": {"Location": format!("s3://{bucket}/events/"), "Columns": [
                {"Name": "id", "Type": "bigint"}, {"Name": "kind", "Type": "string"},
                {"Name": "amount", "Type": "decimal(12,2)"}, {"Name": "at", "Type": "timestamp"},
                {"Name": "_op_type", "Type": "string"}, {"Name": "_op_timestamp", "Type": "bigint"},
                {"Name": "_table_version", "Type": "bigint"}]},
            "PartitionKeys": [{"Name": "year", "Type": "string"}, {"Name": "month", "Type": "string"},
                              {"Name": "day", "Type": "string"}],
        }}),
    )
    .await;
    let athena = AthenaRecorder::start(aws.clone(), bucket.clone(), "events/".into()).await;

    // The original's layout: `ssm`, op fields on by default, the Glue/Athena keys.
    let mut source = db.section("events");
    source["key"] = json!("id");
    let mut target = aws.section_keys();
    target.extend(
        json!({
            "database": lake, "table": "events", "view_database": views, "work_group": "etl",
            "pk": "id", "glue_endpoint_url": aws.endpoint, "athena_endpoint_url": athena.url,
        })
        .as_object()
        .unwrap()
        .clone(),
    );
    let config = |mode: &str| {
        json!({
            "ssm": {"region": aws.region},
            "source": {"mysql": source},
            "target": {"s3": target},
            "replication_mode": mode,
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let run_in = |config: Value| {
        let (aws, path) = (aws.clone(), dir.path().to_path_buf());
        tokio::task::spawn_blocking(move || {
            std::fs::write(path.join("pipeline.json"), config.to_string()).unwrap();
            Command::new(env!("CARGO_BIN_EXE_fastlane"))
                .args([
                    "--source=mysql",
                    "--target=s3",
                    "--config=pipeline.json",
                    "--transform=default",
                ])
                .args(["--summary-json", "summary.json"])
                .current_dir(&path)
                .env("FASTLANE_CACHE_DIR", common::cache_dir())
                .env_remove("RUST_LOG")
                .envs(aws.child_env())
                .output()
                .unwrap()
        })
    };

    let started = chrono::Utc::now().timestamp();
    let out = run_in(config("FULL_TABLE")).await.unwrap();
    assert_ok(&out);
    let calls = athena.take();
    let statements = AthenaRecorder::statements(&calls);
    assert_eq!(statements.len(), 1, "one statement, the view: {calls:?}");
    let sent = &statements[0];
    assert_eq!(sent.request["WorkGroup"], json!("etl"));
    assert_eq!(
        sent.request["QueryExecutionContext"]["Database"],
        json!(views)
    );
    let objects = ids_in_s3(&aws, &bucket, "events/").await;
    assert_eq!(objects, (1..=1000).collect::<Vec<_>>());
    assert!(
        sent.visible > 0,
        "the view is replaced only once the objects are visible"
    );
    assert_eq!(
        sent.visible,
        aws.objects(&bucket, "events/")
            .await
            .iter()
            .filter(|(k, _)| k.ends_with(".parquet"))
            .count()
    );
    let statement = sent.request["QueryString"].as_str().unwrap();
    let version: i64 = statement
        .split("WHERE \"_table_version\" = ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a version filter in {statement}"));
    assert!(version >= started && version <= chrono::Utc::now().timestamp());
    let columns = "\"id\", \"kind\", \"amount\", \"at\", \"_op_type\", \"_op_timestamp\", \
                   \"_table_version\", \"year\", \"month\", \"day\"";
    assert_eq!(
        statement,
        format!(
            "CREATE OR REPLACE VIEW \"{views}\".\"events\" AS\nSELECT {columns}\nFROM (\n  SELECT \
             {columns}, row_number() OVER (PARTITION BY \"id\" ORDER BY \"_op_timestamp\" DESC) AS \
             \"_fastlane_rank\"\n  FROM \"{lake}\".\"events\"\n  WHERE \"_table_version\" = \
             {version}\n)\nWHERE \"_fastlane_rank\" = 1"
        )
    );

    // INCREMENTAL: the offset is MAX(pk) over the view (Athena keeps views in the catalog, so
    // the test puts it there as Athena would have) when it is past what fastlane's own state
    // records (1000): rows another writer added to the table count; the rows continue the
    // version.
    glue_call(
        &aws,
        "CreateTable",
        json!({"DatabaseName": views, "TableInput": {"Name": "events", "TableType": "VIRTUAL_VIEW"}}),
    )
    .await;
    *athena.row.lock().unwrap() = vec![Some("1100".into()), Some(version.to_string())];
    events_table(&db, 1001, 1200).await;
    let out = run_in(config("INCREMENTAL")).await.unwrap();
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(100),
        "rows after id 1100\n{}",
        text(&out)
    );
    let calls = athena.take();
    let statements = AthenaRecorder::statements(&calls);
    assert_eq!(statements.len(), 2, "{calls:?}");
    assert_eq!(
        statements[0].request["QueryString"],
        json!(format!(
            "SELECT MAX(\"id\"), MAX(\"_table_version\") FROM \"{views}\".\"events\""
        ))
    );
    let repointed = statements[1].request["QueryString"].as_str().unwrap();
    assert!(
        repointed.contains(&format!("WHERE \"_table_version\" = {version}\n")),
        "{repointed}"
    );

    // A view statement Athena refuses fails the run, naming the reason; its objects stay
    // committed and the state records their version.
    *athena.fail.lock().unwrap() = Some("Insufficient permissions to execute the query".into());
    // A new second, so this run's version differs from the one the view shows.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let failed_at = chrono::Utc::now().timestamp();
    let out = run_in(config("FULL_TABLE")).await.unwrap();
    assert_fails(
        &out,
        1,
        &["Athena (work group etl)", "Insufficient permissions"],
    );
    athena.take();

    // The next INCREMENTAL run continues that version (not the one the view still shows) and
    // re-points the view at it: nothing the failed run committed is hidden or lost.
    *athena.fail.lock().unwrap() = None;
    events_table(&db, 1201, 1250).await;
    let out = run_in(config("INCREMENTAL")).await.unwrap();
    assert_ok(&out);
    let calls = athena.take();
    let statements = AthenaRecorder::statements(&calls);
    let repointed = statements.last().unwrap().request["QueryString"]
        .as_str()
        .unwrap()
        .to_string();
    let newer: i64 = repointed
        .split("WHERE \"_table_version\" = ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a version filter in {repointed}"));
    assert!(
        newer >= failed_at && newer > version,
        "{newer} vs {version}: {repointed}"
    );
    db.drop().await;
}

/// `examples/original/mysql-to-s3.json` as written — `ssm`, a `secret` for the source, the
/// Glue/Athena keys — with only its names pointed at the test servers: the source's connection
/// comes from a secret in the `ssm` region, and the rows land typed in the Glue table's
/// location, followed by the view statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_mysql_to_s3_example_runs_with_its_secret_and_glue_table() {
    let aws = TestAws::from_env();
    let db = MySqlTestDb::new("e2e_orig_s3").await;
    db.exec(
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(32) NOT NULL, \
         total DECIMAL(12,2), placed DATETIME NOT NULL)",
    )
    .await;
    db.exec(
        "INSERT INTO orders SELECT seq, CONCAT('c', seq % 17), IF(seq % 9 = 0, NULL, seq / 4), \
         '2024-03-01 00:00:00' + INTERVAL seq MINUTE FROM seq_1_to_300",
    )
    .await;
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/original/mysql-to-s3.json"
    );
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();

    // The secret the example names, in the example's `ssm` region (not the environment's).
    let ssm_region = config["ssm"]["region"].as_str().unwrap().to_string();
    let secret = fastlane_connectors::aws_test_support::unique_name("shop-db");
    put_secret_in(
        &aws,
        &ssm_region,
        &secret,
        &json!({"host": db.host, "port": db.port, "username": db.user, "password": ""}),
    )
    .await;
    config["source"]["mysql"]["secret"] = json!(secret);
    config["source"]["mysql"]["db"] = json!(db.name);

    // Its Glue database and table, unique to this run, at a new bucket.
    let bucket = aws.bucket("e2e-orig-s3").await;
    let lake = fastlane_connectors::aws_test_support::unique_name("lake").replace('-', "_");
    glue_call(
        &aws,
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": lake}}),
    )
    .await;
    glue_call(
        &aws,
        "CreateTable",
        json!({"DatabaseName": lake, "TableInput": {
            "Name": "orders",
            "StorageDescriptor": {"Location": format!("s3://{bucket}/orders/"), "Columns": [
                {"Name": "id", "Type": "bigint"}, {"Name": "customer", "Type": "varchar(32)"},
                {"Name": "total", "Type": "decimal(14,2)"}, {"Name": "placed", "Type": "timestamp"},
                {"Name": "_op_type", "Type": "string"}, {"Name": "_op_timestamp", "Type": "bigint"},
                {"Name": "_table_version", "Type": "bigint"}]},
        }}),
    )
    .await;
    let athena = AthenaRecorder::start(aws.clone(), bucket.clone(), "orders/".into()).await;
    let target = &mut config["target"]["s3"];
    target["database"] = json!(lake);
    for (key, value) in [
        ("glue_endpoint_url", aws.endpoint.clone()),
        ("athena_endpoint_url", athena.url.clone()),
        ("endpoint_url", aws.endpoint.clone()),
    ] {
        target[key] = json!(value);
    }

    let dir = tempfile::tempdir().unwrap();
    let out = {
        let (aws, path, config) = (aws.clone(), dir.path().to_path_buf(), config.clone());
        tokio::task::spawn_blocking(move || {
            std::fs::write(path.join("mysql-to-s3.json"), config.to_string()).unwrap();
            Command::new(env!("CARGO_BIN_EXE_fastlane"))
                .args(["--source=mysql", "--target=s3", "--config=mysql-to-s3.json"])
                .arg("--summary-json=summary.json")
                .current_dir(&path)
                .env("FASTLANE_CACHE_DIR", common::cache_dir())
                .env_remove("RUST_LOG")
                .envs(aws.child_env())
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert_ok(&out);
    assert_eq!(
        summary(dir.path())["rows_loaded"],
        json!(300),
        "{}",
        text(&out)
    );
    assert_eq!(
        ids_in_s3(&aws, &bucket, "orders/").await,
        (1..=300).collect::<Vec<_>>()
    );
    let (_, body) = aws
        .objects(&bucket, "orders/")
        .await
        .into_iter()
        .find(|(k, _)| k.ends_with(".parquet"))
        .unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(body)).unwrap();
    let types: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        types[..4],
        [
            "id Int64",
            "customer Utf8",
            "total Decimal128(14, 2)",
            "placed Timestamp(µs)"
        ]
        .map(String::from)
    );
    let calls = athena.take();
    let statements = AthenaRecorder::statements(&calls);
    // No view in the catalog yet: no offset query, only the view statement.
    assert_eq!(statements.len(), 1, "{calls:?}");
    assert_eq!(statements[0].request["WorkGroup"], json!("etl"));
    assert_eq!(
        statements[0].request["QueryExecutionContext"]["Database"],
        json!("lake_views")
    );
    db.drop().await;
}
