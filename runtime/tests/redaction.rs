//! Secrets never come back: a generated corpus of secrets, in the spellings and nestings people
//! use, posted by any client to a real `fastlane serve` (pipeline configs, target ids, run
//! errors, log lines) is returned by no endpoint; and a run's own stderr, log file and reports
//! redact what its config marks secret and what looks like one.

mod common;

use common::monitor::{database, Backend, Monitor};
use common::*;
use serde_json::{json, Value};

/// (key, secret) pairs: secret keys in many spellings, each with a value of its own.
fn keyed_secrets() -> Vec<(String, String)> {
    let names = [
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "api_key",
        "access_key",
        "secret_access_key",
        "private_key",
        "client_secret",
        "auth_token",
        "credentials",
        "session_token",
        "refresh_token",
        "db_password",
        "db_pass",
        "mysql_pwd",
        "account_key",
        "connection_string",
        "signing_key",
        "ssl_key",
        "webhook_url",
        "x_api_key",
        "authorization",
        "cookie",
        "dsn",
        "sas_token",
        "user_password",
    ];
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let words: Vec<&str> = name.split('_').collect();
        let camel: String = words
            .iter()
            .enumerate()
            .map(|(j, w)| {
                if j == 0 {
                    w.to_string()
                } else {
                    w[..1].to_uppercase() + &w[1..]
                }
            })
            .collect();
        for (k, spelling) in [
            name.to_string(),
            name.replace('_', "-"),
            name.to_uppercase(),
            camel.clone(),
            camel[..1].to_uppercase() + &camel[1..],
        ]
        .into_iter()
        .enumerate()
        {
            out.push((spelling, format!("Sx{i}k{k}-Q7zLeak")));
        }
    }
    out
}

/// Secrets recognisable by their shape, under innocent keys.
fn shaped_secrets() -> Vec<(String, String, String)> {
    [
        ("uri", "mysql://etl:UrlPw-Leak1@db:3306/shop", "UrlPw-Leak1"),
        ("note", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAAScPemLeak\n-----END PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAAScPemLeak"),
        ("conn", "Server=db;User Id=etl;Password=ConnLeak-2;", "ConnLeak-2"),
        ("link", "https://x.example/cb?token=QueryLeak3&a=1", "QueryLeak3"),
        ("header", "Bearer BearerLeak4abcdef", "BearerLeak4abcdef"),
        ("id", "AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
        ("hook", "https://hooks.slack.com/services/T1/B2/HookLeak5", "HookLeak5"),
    ]
    .into_iter()
    .map(|(k, v, s)| (k.to_string(), v.to_string(), s.to_string()))
    .collect()
}

/// `value` under `key` at depth `depth % 4`.
fn nest(depth: usize, key: &str, value: Value) -> Value {
    match depth % 4 {
        0 => json!({ key: value }),
        1 => json!({ "mysql": { "host": "db", key: value } }),
        2 => json!({ "items": [ { "name": "a" }, { key: value } ] }),
        _ => json!({ "a": { "b": [ { "c": { key: value } } ] } }),
    }
}

fn merge(into: &mut Value, part: Value, i: usize) {
    into[format!("part{i}")] = part;
}

#[tokio::test]
async fn no_endpoint_returns_a_secret_any_client_posted() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    let api = monitor.client(None);

    let mut config = json!({});
    let mut secrets = Vec::new();
    for (i, (key, secret)) in keyed_secrets().into_iter().enumerate() {
        merge(&mut config, nest(i, &key, json!(secret)), i);
        secrets.push(secret);
    }
    let offset = secrets.len();
    for (i, (key, value, secret)) in shaped_secrets().into_iter().enumerate() {
        merge(&mut config, nest(i, &key, json!(value)), offset + i);
        secrets.push(secret);
    }
    let spec = json!({
        "source_type": "mysql", "target_type": "mysql",
        "target_id": "mysql://etl:TargetIdLeak6@db/shop.orders",
        "config": config,
    });
    secrets.push("TargetIdLeak6".into());
    let (status, _) = api.call("PUT", "/api/v1/pipelines/p1", Some(&spec)).await;
    assert!(status == 200 || status == 201, "PUT pipeline: {status}");

    let (status, run) = api
        .call(
            "POST",
            "/api/v1/pipelines/p1/runs",
            Some(&json!({ "start_offset": "password=OffsetLeak7" })),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    secrets.push("OffsetLeak7".into());
    let run_id = run["id"].as_str().unwrap().to_string();
    let error = "access denied for postgres://etl:ErrLeak8@db/x (DSN host=db password=ErrLeak9) \
                 Authorization: Bearer ErrLeak10abcdef";
    secrets.extend(["ErrLeak8", "ErrLeak9", "ErrLeak10abcdef"].map(String::from));
    let (status, _) = api
        .call(
            "PATCH",
            &format!("/api/v1/runs/{run_id}"),
            Some(&json!({ "status": "failed", "error": error })),
        )
        .await;
    assert_eq!(status, 200);
    let mut lines = Vec::new();
    for (i, (key, secret)) in keyed_secrets().into_iter().enumerate().step_by(7) {
        lines.push(json!({ "seq": i, "at": "2026-12-07T00:00:00Z", "level": "info",
                           "origin": "fastlane", "message": format!("config {key}={secret} loaded") }));
    }
    lines.push(
        json!({ "seq": 1000, "at": "2026-12-07T00:00:00Z", "level": "error",
                       "origin": "transform:x", "message": "{\"password\": \"JsonLogLeak11\"}" }),
    );
    secrets.push("JsonLogLeak11".into());
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/runs/{run_id}/logs"),
            Some(&json!(lines)),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let mut returned = String::new();
    for path in [
        "/api/v1/pipelines".to_string(),
        "/api/v1/pipelines/p1".to_string(),
        "/api/v1/pipelines/p1/runs".to_string(),
        "/api/v1/pipelines/p1/runs/latest".to_string(),
        format!("/api/v1/runs/{run_id}"),
        format!("/api/v1/runs/{run_id}/logs"),
        format!("/api/v1/runs/{run_id}/metrics"),
        "/metrics".to_string(),
    ] {
        let (status, _, text) = api.get_text(&path).await;
        assert_eq!(status, 200, "{path}: {text}");
        returned.push_str(&text);
    }
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| returned.contains(s.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "{} of {} secrets came back: {leaked:?}",
        leaked.len(),
        secrets.len()
    );
    // What is not a secret is still there to read.
    assert!(
        returned.contains("access denied for postgres://etl:***@db/x"),
        "{returned}"
    );
}

#[tokio::test]
async fn a_run_redacts_its_secrets_on_stderr_in_its_log_and_in_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = Monitor::start(&database(Backend::Sqlite, dir.path()).await, None);
    std::env::set_var("FASTLANE_TEST_RUN_DB_PASSWORD", "EnvPwLeak-21");
    let config = json!({
        "source": { "generate": { "rows": 10 } },
        "target": { "mysql": {
            // A password written into the host, and one from the environment.
            "host": "mysql://etl:HostPwLeak-20@127.0.0.1", "port": 1, "username": "etl",
            "password": "${FASTLANE_TEST_RUN_DB_PASSWORD}", "db": "d", "table": "t",
            "connect_timeout_s": 2 } },
        "logs": { "log_file": "run.log" }
    });
    let out = run_config(dir.path(), &config, &["--api", &monitor.url]);
    assert_fails(&out, 1, &["target"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap_or_default();
    let api = monitor.client(None);
    let pipelines = api.get("/api/v1/pipelines").await;
    let pipeline = &pipelines["items"][0];
    let id = pipeline["id"].as_str().unwrap();
    let runs = api.get(&format!("/api/v1/pipelines/{id}/runs")).await;
    let run_id = runs["items"][0]["id"].as_str().unwrap().to_string();
    let logs = api.get(&format!("/api/v1/runs/{run_id}/logs")).await;
    let everything = format!("{stderr}\n{log}\n{pipelines}\n{runs}\n{logs}");
    for secret in ["HostPwLeak-20", "EnvPwLeak-21"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
    // The stored config says where the password comes from, and where the host is.
    assert_eq!(
        pipeline["config"]["target"]["mysql"]["password"],
        "${FASTLANE_TEST_RUN_DB_PASSWORD}"
    );
    assert!(
        pipeline["config"]["target"]["mysql"]["host"]
            .as_str()
            .unwrap()
            .contains("etl:***@127.0.0.1"),
        "{pipeline}"
    );
}
