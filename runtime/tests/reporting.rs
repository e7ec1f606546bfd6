//! `fastlane run --api URL`: a run reports itself to a real `fastlane serve`, and the service
//! being down or dying never stops or fails the run.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::monitor::{database, Backend, Client, Monitor};
use common::{assert_fails, assert_ok, cache_dir, text, wasm};
use serde_json::{json, Value};

/// generate → passthrough → Parquet file; the config also holds a MySQL section with a password
/// (not used by this run) to check what the service stores.
fn config(dir: &Path, rows: u64) -> Value {
    json!({
        "source": {
            "generate": {"rows": rows, "batch_size": 50_000},
            "mysql": {"host": "db.internal", "username": "etl", "password": "hunter2",
                      "db": "shop", "table": "orders", "key": "id"}
        },
        "transform": {"wasm": wasm("passthrough"), "concurrency": 2},
        "target": {"file": {"path": dir.join("out.parquet").to_str().unwrap()}}
    })
}

fn write_config(dir: &Path, config: &Value) {
    std::fs::write(
        dir.join("pipeline.json"),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
}

fn run_command(dir: &Path, api: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fastlane"));
    command
        .args([
            "run",
            "--config",
            "pipeline.json",
            "--source",
            "generate",
            "--api",
            api,
        ])
        .args(extra)
        .current_dir(dir)
        .env("FASTLANE_CACHE_DIR", cache_dir())
        .env_remove("RUST_LOG")
        .env_remove("FASTLANE_API_TOKEN")
        .env_remove("FASTLANE_API_URL");
    command
}

fn run(dir: &Path, api: &str, extra: &[&str]) -> Output {
    run_command(dir, api, extra)
        .output()
        .expect("fastlane runs")
}

/// The latest run of the only pipeline the service knows.
async fn latest_run(api: &Client) -> Value {
    let pipelines = api.get("/api/v1/pipelines").await;
    assert_eq!(pipelines["total"], 1, "{pipelines}");
    let id = pipelines["items"][0]["id"].as_str().unwrap();
    api.get(&format!("/api/v1/pipelines/{id}/runs/latest"))
        .await
}

/// Wait until the only pipeline's latest run has reported a sample with rows loaded; its id.
async fn wait_until_loading(api: &Client) -> String {
    let pipelines = api
        .wait_for("/api/v1/pipelines", Duration::from_secs(30), |_, b| {
            b["total"] == 1
        })
        .await;
    let id = pipelines["items"][0]["id"].as_str().unwrap().to_string();
    let run = api
        .wait_for(
            &format!("/api/v1/pipelines/{id}/runs/latest"),
            Duration::from_secs(30),
            |s, _| s == 200,
        )
        .await;
    let run_id = run["id"].as_str().unwrap().to_string();
    api.wait_for(
        &format!("/api/v1/runs/{run_id}/metrics"),
        Duration::from_secs(30),
        |_, b| {
            b["items"]
                .as_array()
                .is_some_and(|i| i.iter().any(|s| s["rows_loaded"].as_i64() > Some(0)))
        },
    )
    .await;
    run_id
}

/// A loopback port nothing listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn reported_run(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(backend, dir.path()).await, Some("t0ken"));
    let rows = 400_000;
    write_config(dir.path(), &config(dir.path(), rows));
    let out = run(
        dir.path(),
        &monitor.url,
        &["--api-token", "t0ken", "--api-interval", "0.1"],
    );
    assert_ok(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("could not be delivered"),
        "{}",
        text(&out)
    );

    let api = monitor.client(None);
    let pipelines = api.get("/api/v1/pipelines").await;
    assert_eq!(pipelines["total"], 1, "{pipelines}");
    let pipeline = &pipelines["items"][0];
    let id = pipeline["id"].as_str().unwrap();
    assert!(id.starts_with("generate-file-"), "{id}");
    assert!(id.ends_with("out.parquet"), "{id}");
    assert_eq!(pipeline["source_type"], "generate");
    assert_eq!(pipeline["target_type"], "file");
    let stored = pipeline["config"].to_string();
    assert!(
        !stored.contains("hunter2"),
        "the stored config holds the password: {stored}"
    );
    assert_eq!(pipeline["config"]["source"]["mysql"]["password"], "***");
    assert_eq!(pipeline["config"]["source"]["generate"]["rows"], rows);

    let run = api
        .get(&format!("/api/v1/pipelines/{id}/runs/latest"))
        .await;
    assert_eq!(run["status"], "completed", "{run}");
    for count in ["rows_extracted", "rows_transformed", "rows_loaded"] {
        assert_eq!(run[count], rows, "{count}: {run}");
    }
    assert_eq!(run["rows_dropped"], 0);
    assert_eq!(run["transform_name"], "passthrough");
    assert_eq!(
        run["transform_hash"].as_str().map(str::len),
        Some(64),
        "{run}"
    );
    assert!(run["finished_at"].is_string(), "{run}");
    assert!(run["error"].is_null(), "{run}");

    let run_id = run["id"].as_str().unwrap();
    let series = api.get(&format!("/api/v1/runs/{run_id}/metrics")).await;
    let samples = series["items"].as_array().unwrap();
    assert!(!samples.is_empty(), "no metric samples");
    let last = samples.last().unwrap();
    assert_eq!(
        last["rows_loaded"], rows,
        "the last sample is taken at the end: {last}"
    );
    assert!(last["rss_bytes"].as_i64().unwrap() > 0, "{last}");
    let logs = api.get(&format!("/api/v1/runs/{run_id}/logs")).await;
    let messages: Vec<&str> = logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("run started")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("run ended")),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_run_has_its_record_series_and_logs_on_sqlite() {
    reported_run(Backend::Sqlite).await;
}

// Against the PostgreSQL test server (`scripts/services.sh`): `--features services`.
#[cfg(feature = "services")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_run_has_its_record_series_and_logs_on_postgres() {
    reported_run(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_run_is_recorded_failed_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    let mut config = config(dir.path(), 500_000);
    config["transform"] =
        json!({"wasm": wasm("hostile"), "config": {"mode": "fail-after", "batches": 2}});
    write_config(dir.path(), &config);
    let out = run(dir.path(), &monitor.url, &["--api-interval", "0.1"]);
    assert_fails(&out, 1, &["failing on purpose"]);

    let api = monitor.client(None);
    let run = latest_run(&api).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("failing on purpose"),
        "{run}"
    );
    assert!(run["finished_at"].is_string(), "{run}");
    let run_id = run["id"].as_str().unwrap();
    let errors = api
        .get(&format!("/api/v1/runs/{run_id}/logs?level=error"))
        .await;
    assert!(
        errors["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"]
                .as_str()
                .unwrap()
                .contains("failing on purpose")),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_fails_before_moving_data_is_recorded_failed() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    write_config(
        dir.path(),
        &json!({
            "source": {"file": {"path": dir.path().join("missing-*.csv").to_str().unwrap()}},
            "target": {"file": {"path": dir.path().join("out.parquet").to_str().unwrap()}}
        }),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["run", "--config", "pipeline.json", "--api", &monitor.url])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let api = monitor.client(None);
    let run = latest_run(&api).await;
    assert!(
        run["pipeline_id"]
            .as_str()
            .unwrap()
            .starts_with("file-file-"),
        "{run}"
    );
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"].as_str().unwrap().contains("missing-*.csv"),
        "{run}"
    );
    assert_eq!(run["rows_loaded"], 0);
}

/// The service is down when the run starts and comes up while it goes (or drains): everything
/// buffered is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_down_at_the_start_gets_the_run_once_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 300_000;
    write_config(dir.path(), &config(dir.path(), rows));
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let child = run_command(
        dir.path(),
        &url,
        &["--api-interval", "0.1", "--api-drain-timeout", "60"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let database_url = database(Backend::Sqlite, dir.path()).await;
    let monitor = Monitor::start_on(&format!("127.0.0.1:{port}"), &database_url, None);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_ok(&out);
    let api = monitor.client(None);
    let run = latest_run(&api).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["rows_loaded"], rows, "{run}");
    let run_id = run["id"].as_str().unwrap();
    let series = api.get(&format!("/api/v1/runs/{run_id}/metrics")).await;
    assert!(!series["items"].as_array().unwrap().is_empty());
}

/// No service at all: the run completes, says what was not delivered, and does not wait past
/// the drain timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_api_at_all_does_not_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &config(dir.path(), 100_000));
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = std::time::Instant::now();
    let out = run(dir.path(), &url, &["--api-drain-timeout", "1"]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not be delivered"), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(dir.path().join("out.parquet").is_file());
}

/// The service dies (SIGKILL) while the run goes: the run completes anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_killed_during_a_run_does_not_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    let rows = 6_000_000;
    write_config(dir.path(), &config(dir.path(), rows));
    let child = run_command(
        dir.path(),
        &monitor.url,
        &["--api-interval", "0.1", "--api-drain-timeout", "1"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let api = monitor.client(None);
    // Once rows are loaded and reported, kill the service.
    wait_until_loading(&api).await;
    monitor.kill();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{rows} rows loaded")),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not be delivered"),
        "{}",
        text(&out)
    );
}

/// Stopped by SIGTERM while it goes: the run is recorded `exited` with what it did, and the
/// transform's own log lines arrived tagged with its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_is_recorded_exited() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    let mut config = config(dir.path(), 50_000_000);
    config["transform"] = json!({"wasm": wasm("hostile"), "config": {"mode": "log"}});
    write_config(dir.path(), &config);
    let child = run_command(dir.path(), &monitor.url, &["--api-interval", "0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let api = monitor.client(None);
    let run_id = wait_until_loading(&api).await;
    common::terminate(child.id());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));

    let run = api.get(&format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(run["status"], "exited", "{run}");
    assert!(run["finished_at"].is_string(), "{run}");
    let extracted = run["rows_extracted"].as_i64().unwrap();
    assert!(extracted > 0 && extracted < 50_000_000, "{run}");
    let logs = api.get(&format!("/api/v1/runs/{run_id}/logs")).await;
    let guest: Vec<&Value> = logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["origin"] == "transform:hostile")
        .collect();
    assert!(
        guest.iter().any(|l| l["message"]
            .as_str()
            .unwrap()
            .contains("hello from hostile log")),
        "{logs}"
    );
}
