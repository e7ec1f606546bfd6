//! What the web UI reads, over HTTP from a real `fastlane serve` on SQLite and PostgreSQL:
//! pipeline summaries, downsampled series, run comparisons, log search, `--protect-reads`, and
//! the UI's own files.

mod common;

use common::monitor::{database, Backend, Client, Monitor};
use serde_json::{json, Value};

fn sample(at_ms: i64, k: i64) -> Value {
    json!({
        "at": chrono::DateTime::from_timestamp_millis(at_ms).unwrap().to_rfc3339(),
        "rows_extracted": k * 10, "rows_transformed": k * 10, "rows_loaded": k * 9,
        "extract_rows_per_s": 100.0, "transform_rows_per_s": 90.0 + (k % 2) as f64 * 20.0,
        "load_rows_per_s": 80.0, "extract_bytes_per_s": 1000.0,
        // One spike: downsampling must keep it.
        "rss_bytes": if k == 777 { 9_000_000 } else { 1_000_000 + k },
        // No batch through the guest in every other interval: 0 there.
        "queue_to_transform": k % 5, "queue_to_target": 1,
        "wasm_ms_per_batch": if k % 2 == 0 { 0.0 } else { 4.0 }
    })
}

async fn put_pipeline(api: &Client, id: &str) {
    let spec = json!({"source_type": "mysql", "target_type": "s3", "target_id": format!("b/{id}"),
                      "config": {"source": {"mysql": {"password": "hunter2"}}}});
    let (status, body) = api
        .call("PUT", &format!("/api/v1/pipelines/{id}"), Some(&spec))
        .await;
    assert!(status == 201 || status == 200, "{body}");
}

/// A run of `pipeline` started at `started` (ms) that ends as `status` after `ms` (or runs on).
async fn add_run(api: &Client, pipeline: &str, id: &str, started: i64, end: Option<(&str, i64)>) {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339()
    };
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/pipelines/{pipeline}/runs"),
            Some(
                &json!({"id": id, "started_at": at(started), "transform_name": "mask",
                         "transform_version": "0.3.1", "transform_hash": "ab".repeat(32)}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    if let Some((final_status, ms)) = end {
        let (status, body) = api
            .call(
                "PATCH",
                &format!("/api/v1/runs/{id}"),
                Some(
                    &json!({"status": final_status, "finished_at": at(started + ms),
                             "rows_extracted": 1000, "rows_transformed": 990, "rows_loaded": 990}),
                ),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

async fn dashboard(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(backend, dir.path()).await, None);
    let api = monitor.client(None);
    let t0 = 1_790_000_000_000i64;

    // Four pipelines: one running, one whose last run failed after two completed, one
    // completed, one never run. Names with LIKE's wildcards must match literally.
    for id in [
        "orders-mysql-s3",
        "users_mysql-s3",
        "users.x-file",
        "idle-file",
    ] {
        put_pipeline(&api, id).await;
    }
    add_run(&api, "orders-mysql-s3", "o1", t0, Some(("completed", 4000))).await;
    add_run(
        &api,
        "orders-mysql-s3",
        "o2",
        t0 + 10_000,
        Some(("completed", 6000)),
    )
    .await;
    add_run(
        &api,
        "orders-mysql-s3",
        "o3",
        t0 + 20_000,
        Some(("failed", 1000)),
    )
    .await;
    add_run(&api, "users_mysql-s3", "u1", t0 + 5_000, None).await;
    add_run(
        &api,
        "users.x-file",
        "x1",
        t0 + 1_000,
        Some(("completed", 2000)),
    )
    .await;

    let page = api.get("/api/v1/pipeline-summaries").await;
    assert_eq!(page["total"], 4, "{page}");
    assert_eq!(
        page["counts"],
        json!({"running": 1, "completed": 1, "failed": 1, "exited": 0, "never": 1})
    );
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    // Running first, then by last activity: a run's start, or the registration of a pipeline
    // that never ran (now, after every run of this test).
    assert_eq!(
        ids,
        [
            "users_mysql-s3",
            "idle-file",
            "orders-mysql-s3",
            "users.x-file"
        ]
    );
    let orders = &page["items"][2];
    assert_eq!(orders["last_run"]["id"], "o3");
    assert_eq!(orders["last_run"]["status"], "failed");
    assert_eq!(orders["last_run"]["transform_version"], "0.3.1");
    assert!(
        orders.get("config").is_none(),
        "summaries carry no config: {orders}"
    );
    let recent: Vec<(&str, i64)> = orders["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["duration_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        recent,
        [("o1", 4000), ("o2", 6000), ("o3", 1000)],
        "oldest first"
    );
    let idle = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "idle-file")
        .unwrap();
    assert!(
        idle.get("last_run").is_none() && idle["recent"] == json!([]),
        "{idle}"
    );

    let named = |q: &'static str| {
        let api = &api;
        async move {
            let page = api
                .get(&format!("/api/v1/pipeline-summaries?sort=name&{q}"))
                .await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        named("name=MYSQL").await,
        ["orders-mysql-s3", "users_mysql-s3"]
    );
    assert_eq!(
        named("name=s_m").await,
        ["users_mysql-s3"],
        "`_` is literal"
    );
    assert_eq!(
        named("name=%25").await,
        Vec::<String>::new(),
        "`%` is literal"
    );
    assert_eq!(named("status=never").await, ["idle-file"]);
    assert_eq!(named("status=failed").await, ["orders-mysql-s3"]);
    let filtered = api
        .get("/api/v1/pipeline-summaries?name=mysql&status=running&recent=1")
        .await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(
        filtered["counts"],
        json!({"running": 1, "completed": 0, "failed": 1, "exited": 0, "never": 0}),
        "counts follow the name filter, not the status filter"
    );
    let paged = api
        .get("/api/v1/pipeline-summaries?sort=name&limit=2&offset=2&recent=1")
        .await;
    assert_eq!(paged["total"], 4);
    assert_eq!(paged["items"][0]["id"], "users.x-file");
    let orders_recent = api
        .get("/api/v1/pipeline-summaries?name=orders&recent=2")
        .await;
    assert_eq!(
        orders_recent["items"][0]["recent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].clone())
            .collect::<Vec<_>>(),
        [json!("o2"), json!("o3")],
        "the last `recent` runs"
    );
    for bad in ["status=unknown", "limit=0", "recent=101", "sort=size"] {
        let (status, body) = api
            .call("GET", &format!("/api/v1/pipeline-summaries?{bad}"), None)
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // Downsampling: 3,000 samples to at most 100 points; counters end at the last sample, a
    // one-sample memory spike survives, the total says how many there are.
    let samples: Vec<Value> = (0..3000).map(|k| sample(t0 + k * 100, k)).collect();
    for chunk in samples.chunks(1000) {
        let (status, body) = api
            .call("POST", "/api/v1/runs/u1/metrics", Some(&json!(chunk)))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let series = api.get("/api/v1/runs/u1/metrics?points=100").await;
    let items = series["items"].as_array().unwrap();
    assert_eq!(series["total"], 3000);
    assert!((90..=100).contains(&items.len()), "{} points", items.len());
    let last = items.last().unwrap();
    assert_eq!(last["rows_extracted"], 29990);
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(parse(&last["at"]), parse(&samples[2999]["at"]));
    assert!(
        items.iter().any(|s| s["rss_bytes"] == 9_000_000),
        "the spike is kept"
    );
    let rate = items[0]["transform_rows_per_s"].as_f64().unwrap();
    assert!((rate - 100.0).abs() < 1.0, "rates are averaged: {rate}");
    assert!(
        items.iter().all(|s| s["wasm_ms_per_batch"] == 4.0),
        "Wasm time is averaged over the intervals that ran the guest: {}",
        items[0]
    );
    // A running run's record follows its newest sample (runners report counts at the end);
    // an older sample never lowers them, and a finished run keeps its own.
    let u1 = api.get("/api/v1/runs/u1").await;
    assert_eq!(
        (u1["rows_extracted"].clone(), u1["rows_loaded"].clone()),
        (json!(29990), json!(26991))
    );
    let (status, _) = api
        // A re-sent sample (same time, stored once) with older counts.
        .call(
            "POST",
            "/api/v1/runs/u1/metrics",
            Some(&json!([sample(t0 + 2999 * 100, 5)])),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(api.get("/api/v1/runs/u1").await["rows_loaded"], 26991);
    let (status, _) = api
        .call(
            "POST",
            "/api/v1/runs/o2/metrics",
            Some(&json!([sample(t0 + 12_000, 50_000)])),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(api.get("/api/v1/runs/o2").await["rows_loaded"], 990);
    let ats: Vec<_> = items.iter().map(|s| parse(&s["at"])).collect();
    assert!(ats.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let few = api.get("/api/v1/runs/u1/metrics?points=5000").await;
    assert_eq!(
        few["items"].as_array().unwrap().len(),
        3000,
        "under the points: every sample"
    );
    let window = api
        .get(&format!(
            "/api/v1/runs/u1/metrics?points=10&from={}",
            samples[2900]["at"].as_str().unwrap().replace('+', "%2B")
        ))
        .await;
    assert_eq!(window["total"], 100);
    assert!(window["items"].as_array().unwrap().len() <= 10);
    let limited = api.get("/api/v1/runs/u1/metrics?limit=10").await;
    assert_eq!(limited["items"].as_array().unwrap().len(), 10);
    assert_eq!(limited["total"], 3000);
    let (status, _) = api
        .call("GET", "/api/v1/runs/u1/metrics?points=1", None)
        .await;
    assert_eq!(status, 400);

    // Comparison: both runs with stage throughput from their counts and samples.
    let comparison = api.get("/api/v1/run-comparison?a=o2&b=u1").await;
    let runs = comparison["runs"].as_array().unwrap();
    assert_eq!(runs[0]["run"]["id"], "o2");
    assert_eq!(runs[0]["duration_ms"], 6000);
    let load = runs[0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "load")
        .unwrap();
    assert_eq!(load["rows"], 990);
    assert!(
        (load["rows_per_s"].as_f64().unwrap() - 165.0).abs() < 1e-6,
        "{load}"
    );
    assert_eq!(load["peak_rows_per_s"], 80.0, "{load}");
    assert_eq!(
        runs[0]["samples"], 1,
        "the late sample is stored, the counts kept"
    );
    assert_eq!(runs[1]["samples"], 3000);
    assert_eq!(runs[1]["peak_rss_bytes"], 9_000_000);
    assert_eq!(runs[1]["peak_queue_to_transform"], 4);
    assert_eq!(runs[1]["mean_wasm_ms_per_batch"], 4.0);
    let transform = runs[1]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "transform")
        .unwrap();
    assert_eq!(transform["peak_rows_per_s"], 110.0);
    assert!(transform.get("rows_per_s").is_none(), "u1 still runs");
    let (status, body) = api
        .call("GET", "/api/v1/run-comparison?a=o2&b=nope", None)
        .await;
    assert_eq!(status, 404, "{body}");

    // Log search: case-insensitive text in the message or origin, wildcards literal.
    let lines = json!([
        {"seq": 0, "at": "2026-11-22T10:00:01Z", "level": "info", "origin": "fastlane", "message": "run started"},
        {"seq": 1, "at": "2026-11-22T10:00:02Z", "level": "warn", "origin": "transform:mask", "message": "50% of rows Masked"},
        {"seq": 2, "at": "2026-11-22T10:00:03Z", "level": "error", "origin": "fastlane", "message": "target refused a row"},
        {"seq": 3, "at": "2026-11-22T10:00:04Z", "level": "info", "origin": "fastlane", "message": "Ärger with the table"}
    ]);
    let (status, body) = api.call("POST", "/api/v1/runs/u1/logs", Some(&lines)).await;
    assert_eq!(status, 201, "{body}");
    let found = |q: &'static str| {
        let api = &api;
        async move {
            let page = api.get(&format!("/api/v1/runs/u1/logs?{q}")).await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["seq"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("q=MASKED").await, [1]);
    assert_eq!(found("q=transform%3Amask").await, [1], "origin matches too");
    assert_eq!(found("q=50%25").await, [1]);
    assert_eq!(found("q=_").await, Vec::<i64>::new(), "`_` is literal");
    assert_eq!(found("q=r&level=warn").await, [1, 2]);
    assert_eq!(
        found("q=%C3%84rger").await,
        [3],
        "other letters match as written"
    );
    assert_eq!(
        found("tail=true&limit=2").await,
        [2, 3],
        "the last lines, oldest first"
    );
    assert_eq!(found("tail=true&limit=2&level=warn").await, [1, 2]);

    // A live stream without history starts at what is stored now.
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/runs/u1/metrics/stream?history=false",
            monitor.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response;
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
        .await
        .expect("the stream sends the run first")
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&first).to_string();
    assert!(text.contains("\"type\":\"run\""), "{text}");
    api.call(
        "POST",
        "/api/v1/runs/u1/metrics",
        Some(&json!([sample(t0 + 400_000, 4000)])),
    )
    .await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut seen = String::new();
        while !seen.contains("\"type\":\"sample\"") {
            let chunk = stream.chunk().await.unwrap().unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        seen
    })
    .await
    .expect("the new sample comes");
    assert_eq!(
        next.matches("\"type\":\"sample\"").count(),
        1,
        "only the new sample, not the 3,000 before it: {next}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_reads_on_sqlite() {
    dashboard(Backend::Sqlite).await;
}

// Against the PostgreSQL test server (`scripts/services.sh`): `--features services`.
#[cfg(feature = "services")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_reads_on_postgres() {
    dashboard(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_reads_needs_the_token_for_data_but_not_for_the_ui_or_health() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(Backend::Sqlite, dir.path()).await;
    let monitor = Monitor::start_with(
        "127.0.0.1:0",
        &url,
        &["--token", "s3cret-token", "--protect-reads"],
    );
    let open = monitor.client(None);
    let held = monitor.client(Some("s3cret-token"));
    let wrong = monitor.client(Some("not-it"));
    put_pipeline(&held, "p1").await;
    for path in [
        "/api/v1/pipelines",
        "/api/v1/pipelines/p1",
        "/api/v1/pipeline-summaries",
        "/metrics",
    ] {
        let (status, body) = open.call("GET", path, None).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("reads"),
            "{body}"
        );
        let (status, _) = wrong.call("GET", path, None).await;
        assert_eq!(status, 401, "{path} with a wrong token");
        let (status, _) = held.call("GET", path, None).await;
        assert_eq!(status, 200, "{path} with the token");
    }
    let health = open.get("/healthz").await;
    assert_eq!(health["auth"], "all");
    for path in [
        "/",
        "/runs/r1",
        "/pipelines/p1",
        "/compare?a=1&b=2",
        "/openapi.json",
        "/docs",
    ] {
        let (status, _, _) = open.get_text(path).await;
        assert_eq!(status, 200, "{path} stays open");
    }

    // Without --protect-reads, reads are open and health says writes need the token.
    drop(monitor);
    let dir = tempfile::tempdir().unwrap();
    let url = database(Backend::Sqlite, dir.path()).await;
    let monitor = Monitor::start(&url, Some("s3cret-token"));
    let open = monitor.client(None);
    assert_eq!(open.get("/healthz").await["auth"], "writes");
    assert_eq!(open.get("/api/v1/pipeline-summaries").await["total"], 0);

    // --protect-reads without a token is a usage error.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["serve", "--protect-reads", "--bind", "127.0.0.1:0"])
        .env_remove("FASTLANE_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
    // An empty token (an unset secret) is refused too, not taken as "no protection".
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
        .args(["serve", "--protect-reads", "--bind", "127.0.0.1:0"])
        .env("FASTLANE_API_TOKEN", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("non-empty --token"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_is_served_from_the_binary_with_revalidation() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    let open = monitor.client(None);
    assert_eq!(open.get("/healthz").await["auth"], "none");
    let (status, content_type, page) = open.get_text("/runs/some-run").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page loads a script")
        .to_string();
    let http = reqwest::Client::new();
    let first = http
        .get(format!("{}{script}", monitor.url))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let etag = first.headers()["etag"].clone();
    let again = http
        .get(format!("{}{script}", monitor.url))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let (status, _, _) = open.get_text("/no-such-page").await;
    assert_eq!(status, 404);
    // The API's own unknown paths stay JSON errors.
    let (status, body) = open.call("GET", "/api/v1/nothing", None).await;
    assert_eq!(status, 404);
    assert!(body["message"].is_string(), "{body}");
}
