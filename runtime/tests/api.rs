//! The monitoring service over HTTP: a real `fastlane serve` on SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::monitor::{database, Backend, Client, Monitor};
use serde_json::{json, Value};

#[path = "api/bad_requests.rs"]
mod bad_requests;

fn sample(at: &str, loaded: i64) -> Value {
    json!({
        "at": at, "rows_extracted": loaded + 10, "rows_transformed": loaded + 5, "rows_loaded": loaded,
        "extract_rows_per_s": 1000.5, "transform_rows_per_s": 990.0, "load_rows_per_s": 980.25,
        "extract_bytes_per_s": 65536.0, "rss_bytes": 123456789, "queue_to_transform": 2,
        "queue_to_target": 1, "wasm_ms_per_batch": 0.75
    })
}

fn pipeline_spec() -> Value {
    json!({
        "source_type": "mysql", "target_type": "s3", "target_id": "lake/orders",
        "config": {
            "source": {"mysql": {"host": "db", "username": "etl", "password": "hunter2",
                                  "db": "shop", "table": "orders", "key": "id"}},
            "target": {"s3": {"bucket": "lake", "prefix": "orders/",
                               "aws_secret_access_key": "wJalrXUtnFEMI"}},
            "replication_mode": "INCREMENTAL"
        }
    })
}

/// Everything a runner and a viewer do, in order, with the answers they must get.
async fn lifecycle(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(backend, dir.path()).await, None);
    let api = monitor.client(None);

    // Pipelines: PUT registers (201), PUT again updates (200); secrets never stored.
    let (status, created) = api
        .call(
            "PUT",
            "/api/v1/pipelines/mysql-s3-lake_orders",
            Some(&pipeline_spec()),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "mysql-s3-lake_orders");
    let stored = created["config"].to_string();
    assert!(
        !stored.contains("hunter2") && !stored.contains("wJalrXUtnFEMI"),
        "{stored}"
    );
    assert_eq!(created["config"]["source"]["mysql"]["password"], "***");
    assert_eq!(created["config"]["source"]["mysql"]["key"], "id");
    let (status, updated) = api
        .call(
            "PUT",
            "/api/v1/pipelines/mysql-s3-lake_orders",
            Some(&pipeline_spec()),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["created_at"], created["created_at"]);
    let other = json!({"id": "generate-file-out.parquet", "source_type": "generate",
                       "target_type": "file", "target_id": "out.parquet", "config": {}});
    let (status, body) = api.call("POST", "/api/v1/pipelines", Some(&other)).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api.call("POST", "/api/v1/pipelines", Some(&other)).await;
    assert_eq!(status, 409, "{body}");
    let list = api.get("/api/v1/pipelines?limit=1").await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], "generate-file-out.parquet");

    // Runs: creating with the runner's id is idempotent.
    let run_id = "0193a5e0-0000-7000-8000-000000000001";
    let new_run = json!({"id": run_id, "started_at": "2026-11-22T10:00:00Z",
                         "replication_mode": "INCREMENTAL", "start_offset": "41"});
    let (status, run) = api
        .call(
            "POST",
            "/api/v1/pipelines/mysql-s3-lake_orders/runs",
            Some(&new_run),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "running");
    assert_eq!(run["start_offset"], "41");
    let (status, again) = api
        .call(
            "POST",
            "/api/v1/pipelines/mysql-s3-lake_orders/runs",
            Some(&new_run),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/pipelines/generate-file-out.parquet/runs",
            Some(&new_run),
        )
        .await;
    assert_eq!(status, 409, "a run id belongs to one pipeline: {body}");
    let (status, older) = api
        .call(
            "POST",
            "/api/v1/pipelines/mysql-s3-lake_orders/runs",
            Some(&json!({"started_at": "2026-11-21T10:00:00Z", "status": "failed"})),
        )
        .await;
    assert_eq!(status, 201, "{older}");
    assert!(older["finished_at"].is_string(), "{older}");

    // Metrics: stored, read back in order, filtered by time.
    let samples = json!([
        sample("2026-11-22T10:00:01Z", 100),
        sample("2026-11-22T10:00:02Z", 200),
        sample("2026-11-22T10:00:03.500Z", 300),
    ]);
    // A retried POST (its answer lost) stores nothing twice: a run has one sample per time.
    for _ in 0..2 {
        let (status, body) = api
            .call(
                "POST",
                &format!("/api/v1/runs/{run_id}/metrics"),
                Some(&samples),
            )
            .await;
        assert_eq!(
            (status, body["accepted"].as_u64()),
            (201, Some(3)),
            "{body}"
        );
    }
    let series = api.get(&format!("/api/v1/runs/{run_id}/metrics")).await;
    let items = series["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{series}");
    assert_eq!(items[2]["rows_loaded"], 300);
    assert_eq!(items[2]["load_rows_per_s"], 980.25);
    assert_eq!(items[2]["rss_bytes"], 123456789);
    let at = chrono::DateTime::parse_from_rfc3339(items[2]["at"].as_str().unwrap()).unwrap();
    assert_eq!(
        at,
        chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:03.500Z").unwrap()
    );
    let window = api
        .get(&format!(
            "/api/v1/runs/{run_id}/metrics?from=2026-11-22T10:00:02Z&to=2026-11-22T10:00:03Z"
        ))
        .await;
    let loaded: Vec<_> = window["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rows_loaded"].clone())
        .collect();
    assert_eq!(loaded, vec![json!(200)]);

    // Logs: stored, filtered by minimum level, paged by id.
    // Numbered lines sent twice (a retried POST) are stored once.
    let lines = json!([
        {"seq": 0, "at": "2026-11-22T10:00:01Z", "level": "info", "origin": "fastlane", "message": "run started"},
        {"seq": 1, "at": "2026-11-22T10:00:02Z", "level": "warn", "origin": "transform:mask", "message": "column email is null"},
        {"seq": 2, "at": "2026-11-22T10:00:03Z", "level": "error", "origin": "fastlane", "message": "target s3: access denied"},
    ]);
    for _ in 0..2 {
        let (status, body) = api
            .call("POST", &format!("/api/v1/runs/{run_id}/logs"), Some(&lines))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let all = api.get(&format!("/api/v1/runs/{run_id}/logs")).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "{all}");
    let warn = api
        .get(&format!("/api/v1/runs/{run_id}/logs?level=warn"))
        .await;
    let messages: Vec<_> = warn["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        messages,
        ["column email is null", "target s3: access denied"]
    );
    let first_id = warn["items"][0]["id"].as_i64().unwrap();
    let after = api
        .get(&format!("/api/v1/runs/{run_id}/logs?after_id={first_id}"))
        .await;
    assert_eq!(after["items"].as_array().unwrap().len(), 1);

    // The latest run is the one started last, whatever the creation order.
    let latest = api
        .get("/api/v1/pipelines/mysql-s3-lake_orders/runs/latest")
        .await;
    assert_eq!(latest["id"], run_id);
    let failed = api
        .get("/api/v1/pipelines/mysql-s3-lake_orders/runs?status=failed")
        .await;
    assert_eq!(failed["total"], 1);
    assert_eq!(failed["items"][0]["id"], older["id"]);

    // Finishing: counts, offsets, error; a finished run's status is final.
    let fin = json!({"status": "completed", "finished_at": "2026-11-22T10:00:04Z", "end_offset": "1041",
                     "rows_extracted": 1000, "rows_transformed": 990, "rows_loaded": 990, "rows_dropped": 10,
                     "transform_name": "mask", "transform_hash": "ab".repeat(32)});
    let (status, done) = api
        .call("PATCH", &format!("/api/v1/runs/{run_id}"), Some(&fin))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["rows_loaded"], 990);
    assert_eq!(done["end_offset"], "1041");
    let (status, body) = api
        .call("PATCH", &format!("/api/v1/runs/{run_id}"), Some(&fin))
        .await;
    assert_eq!(status, 200, "a retried final update is accepted: {body}");
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/api/v1/runs/{run_id}"),
            Some(&json!({"status": "running"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("completed"),
        "{body}"
    );
    // Nor do its counts or error: a late progress update must not overwrite the final one.
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/api/v1/runs/{run_id}"),
            Some(&json!({"rows_loaded": 5, "error": "late"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        api.get(&format!("/api/v1/runs/{run_id}")).await["rows_loaded"],
        990
    );

    // The live stream of a finished run: the run, its samples and lines, the run again, end.
    let (status, content_type, events) =
        api_text(&api, &format!("/api/v1/runs/{run_id}/metrics/stream")).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let events: Vec<Value> = events
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"run"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"run"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "sample").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "log").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(events.last().unwrap()["status"], "completed");

    // Prometheus text counts runs by status.
    let (status, _, metrics) = api.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("fastlane_runs{status=\"completed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fastlane_runs{status=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fastlane_api_http_requests_total"),
        "{metrics}"
    );

    // Deleting a run takes its series; deleting a pipeline takes its runs.
    let (status, _) = api
        .call("DELETE", &format!("/api/v1/runs/{run_id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = api
        .call("GET", &format!("/api/v1/runs/{run_id}/metrics"), None)
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = api
        .call("DELETE", "/api/v1/pipelines/mysql-s3-lake_orders", None)
        .await;
    assert_eq!(status, 204);
    let older_id = older["id"].as_str().unwrap();
    let (status, _) = api
        .call("GET", &format!("/api/v1/runs/{older_id}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .call("GET", "/api/v1/pipelines/mysql-s3-lake_orders", None)
        .await;
    assert_eq!(status, 404);
}

async fn api_text(api: &Client, path: &str) -> (u16, String, String) {
    tokio::time::timeout(Duration::from_secs(30), api.get_text(path))
        .await
        .expect("the stream of a finished run ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

// Against the PostgreSQL test server (`scripts/services.sh`): `--features services`.
#[cfg(feature = "services")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_postgres() {
    lifecycle(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_openapi_and_docs() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    let api = monitor.client(None);
    let health = api.get("/healthz").await;
    assert_eq!(
        health,
        json!({"status": "ok", "database": "sqlite", "auth": "none"})
    );
    let spec = api.get("/openapi.json").await;
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "{spec}"
    );
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/api/v1/pipelines",
        "/api/v1/pipelines/{id}",
        "/api/v1/pipelines/{id}/runs",
        "/api/v1/pipelines/{id}/runs/latest",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/metrics",
        "/api/v1/runs/{run_id}/metrics/stream",
        "/api/v1/runs/{run_id}/logs",
        "/healthz",
        "/metrics",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    let (status, content_type, html) = api.get_text("/docs").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(html.contains("swagger"), "{html}");
}

/// The service keeps its data across restarts and migrates an existing database without loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(Backend::Sqlite, dir.path()).await;
    {
        let monitor = Monitor::start(&url, None);
        let (status, _) = monitor
            .client(None)
            .call("PUT", "/api/v1/pipelines/p1", Some(&pipeline_spec()))
            .await;
        assert_eq!(status, 201);
    }
    let monitor = Monitor::start(&url, None);
    let pipeline = monitor.client(None).get("/api/v1/pipelines/p1").await;
    assert_eq!(pipeline["target_id"], "lake/orders");
}

/// A database the service cannot open: it exits non-zero and says which and why.
#[test]
fn an_unusable_database_stops_the_service_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!(
                "sqlite://{}/missing/dir/monitor.db?mode=rwc",
                dir.path().display()
            ),
            "unable to open database file",
        ),
        (
            "postgres://fastlane:hunter2@127.0.0.1:1/monitor".to_string(),
            "Connection refused",
        ),
    ];
    for (url, cause) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
            .env_remove("FASTLANE_API_TOKEN")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(
            stderr.contains("cannot open the database"),
            "{url}: {stderr}"
        );
        assert!(stderr.contains(cause), "{url}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "the password is shown: {stderr}"
        );
    }
}
