//! The API refuses what it cannot take: wrong types, unknown ids, a missing token — 4xx with a
//! JSON message naming the field, never a 500.

use super::*;

/// Wrong types, unknown ids, missing token: 4xx with a JSON message naming the field.
async fn bad_requests(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(backend, dir.path()).await, Some("s3cret-token"));
    let api = monitor.client(Some("s3cret-token"));
    let anonymous = monitor.client(None);
    let wrong_token = monitor.client(Some("nope"));

    // Writes need the token; reads do not.
    for client in [&anonymous, &wrong_token] {
        let (status, body) = client
            .call("PUT", "/api/v1/pipelines/p1", Some(&pipeline_spec()))
            .await;
        assert_eq!(status, 401, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("Bearer"),
            "{body}"
        );
    }
    let (status, _) = api
        .call("PUT", "/api/v1/pipelines/p1", Some(&pipeline_spec()))
        .await;
    assert_eq!(status, 201);
    let (status, _) = anonymous.call("GET", "/api/v1/pipelines/p1", None).await;
    assert_eq!(status, 200);

    let (status, run) = api
        .call("POST", "/api/v1/pipelines/p1/runs", Some(&json!({})))
        .await;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().unwrap().to_string();

    let cases: Vec<(&str, String, Option<Value>, u16, &str)> = vec![
        (
            "PATCH",
            format!("/api/v1/runs/{run_id}"),
            Some(json!({"rows_loaded": "many"})),
            400,
            "rows_loaded",
        ),
        (
            "PATCH",
            format!("/api/v1/runs/{run_id}"),
            Some(json!({"rows_loaded": -1})),
            400,
            "rows_loaded",
        ),
        (
            "PATCH",
            format!("/api/v1/runs/{run_id}"),
            Some(json!({"status": "sleeping"})),
            400,
            "status",
        ),
        (
            "PATCH",
            "/api/v1/runs/no-such-run".into(),
            Some(json!({})),
            404,
            "no-such-run",
        ),
        ("GET", "/api/v1/pipelines/nope".into(), None, 404, "nope"),
        (
            "GET",
            "/api/v1/pipelines/nope/runs/latest".into(),
            None,
            404,
            "nope",
        ),
        (
            "POST",
            "/api/v1/pipelines/nope/runs".into(),
            Some(json!({})),
            404,
            "nope",
        ),
        (
            "PUT",
            "/api/v1/pipelines/p1".into(),
            Some(json!({"source_type": "mysql"})),
            400,
            "target_type",
        ),
        (
            "PUT",
            "/api/v1/pipelines/p1".into(),
            Some(
                json!({"source_type": "mysql", "target_type": "s3", "target_id": "x", "config": []}),
            ),
            400,
            "config",
        ),
        (
            "PUT",
            "/api/v1/pipelines/bad%20id".into(),
            Some(pipeline_spec()),
            400,
            "id",
        ),
        (
            "POST",
            format!("/api/v1/runs/{run_id}/metrics"),
            Some(json!([])),
            400,
            "1 to 1000",
        ),
        (
            "POST",
            format!("/api/v1/runs/{run_id}/metrics"),
            Some(json!([{"at": "yesterday"}])),
            400,
            "at",
        ),
        (
            "POST",
            "/api/v1/runs/no-such-run/metrics".into(),
            Some(json!([sample("2026-11-22T10:00:00Z", 1)])),
            404,
            "no-such-run",
        ),
        (
            "POST",
            format!("/api/v1/runs/{run_id}/logs"),
            Some(
                json!([{"at": "2026-11-22T10:00:00Z", "level": "loud", "origin": "x", "message": "m"}]),
            ),
            400,
            "level",
        ),
        (
            "GET",
            "/api/v1/pipelines?limit=0".into(),
            None,
            400,
            "limit",
        ),
        (
            "GET",
            "/api/v1/pipelines?limit=ten".into(),
            None,
            400,
            "limit",
        ),
        (
            "GET",
            format!("/api/v1/runs/{run_id}/metrics?from=noon"),
            None,
            400,
            "from",
        ),
        ("GET", "/api/v1/nothing-here".into(), None, 404, "Not Found"),
        (
            "GET",
            "/api/v1/pipelines?offset=9223372036854775808".into(),
            None,
            400,
            "offset",
        ),
        (
            "GET",
            "/api/v1/pipelines/p1/runs?offset=10000000000".into(),
            None,
            400,
            "offset",
        ),
    ];
    for (method, path, body, expected, needle) in cases {
        let (status, answer) = api.call(method, &path, body.as_ref()).await;
        assert_eq!(status, expected, "{method} {path} {body:?} -> {answer}");
        let text = answer.to_string();
        assert!(
            answer["error"].is_string() && answer["message"].is_string(),
            "{method} {path}: not a JSON error: {text}"
        );
        assert!(
            text.contains(needle),
            "{method} {path}: the message should name {needle:?}: {text}"
        );
    }

    // The scheme of the Authorization header is case-insensitive.
    let response = reqwest::Client::new()
        .put(format!("{}/api/v1/pipelines/p2", monitor.url))
        .header("authorization", "bearer s3cret-token")
        .json(&pipeline_spec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);

    // A body declared past 16 MiB is refused before any of it is read.
    let answer = tokio::task::spawn_blocking({
        let (addr, path) = (
            monitor.url.trim_start_matches("http://").to_string(),
            format!("/api/v1/runs/{run_id}/logs"),
        );
        move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(&addr).unwrap();
            write!(
                stream,
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer s3cret-token\r\n\
                 Content-Type: application/json\r\nContent-Length: 17000000\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            answer
        }
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // A NUL character is stored (as U+FFFD) rather than breaking PostgreSQL text.
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/runs/{run_id}/logs"),
            Some(&json!([{"at": "2026-11-22T10:00:00Z", "level": "info", "origin": "x", "message": "a\u{0}b"}])),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_on_sqlite() {
    bad_requests(Backend::Sqlite).await;
}

// Against the PostgreSQL test server (`scripts/services.sh`): `--features services`.
#[cfg(feature = "services")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_on_postgres() {
    bad_requests(Backend::Postgres).await;
}
