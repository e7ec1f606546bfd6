//! `fastlane run` sending its log to CloudWatch Logs (the moto server of `scripts/services.sh`)
//! and its failure to Slack (a webhook stand-in on loopback): the lines arrive, the transform's
//! lines tagged with its name, a failed run posts exactly one notice, and a sink that is down or
//! failing never fails or stalls the run.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_fails, assert_ok, cache_dir, text};
use fastlane::run::pipeline_id;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Time a run may take beyond its drain timeout (start-up, the run itself, a busy machine).
const MARGIN: Duration = Duration::from_secs(15);

fn out_path(dir: &Path) -> String {
    dir.join("out.parquet").to_str().unwrap().to_string()
}

/// generate → Parquet file, no transform.
fn native_pipeline(dir: &Path) -> Value {
    json!({
        "source": {"generate": {"rows": 1_000}},
        "target": {"file": {"path": out_path(dir)}}
    })
}

/// A run that fails before any data moves: its source files do not exist.
fn failing_pipeline(dir: &Path) -> Value {
    json!({
        "source": {"file": {"path": dir.join("missing-*.csv").to_str().unwrap()}},
        "target": {"file": {"path": out_path(dir)}}
    })
}

/// `fastlane run --config pipeline.json --summary-json summary.json ARGS` in `dir`, with `env`
/// and none of the machine's own API, Slack or AWS endpoint settings.
fn run_command(dir: &Path, config: &Value, args: &[&str], env: &[(&str, String)]) -> Command {
    std::fs::write(
        dir.join("pipeline.json"),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fastlane"));
    command
        .args([
            "run",
            "--config",
            "pipeline.json",
            "--summary-json",
            "summary.json",
        ])
        .args(args)
        .current_dir(dir)
        .env("FASTLANE_CACHE_DIR", cache_dir())
        .env_remove("RUST_LOG")
        .env_remove("FASTLANE_API_URL")
        .env_remove("SLACK_WEBHOOK_URL")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Run off the async runtime (the webhook stand-in keeps answering meanwhile); the output and
/// how long the run took.
async fn run(
    dir: &Path,
    config: &Value,
    args: &[&str],
    env: &[(&str, String)],
) -> (Output, Duration) {
    let mut command = run_command(dir, config, args, env);
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || command.output().expect("fastlane runs"))
        .await
        .unwrap();
    (out, started.elapsed())
}

/// The run id the summary names.
fn run_id(dir: &Path) -> String {
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    summary["run_id"].as_str().unwrap().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A loopback port nothing listens on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Credentials and region for a client that never reaches AWS, without the machine's profiles.
fn offline_aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// A stand-in for a Slack incoming webhook: answers every request with one status and keeps
/// the JSON bodies it was sent.
struct Webhook {
    /// `http://127.0.0.1:PORT/services/…`.
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Webhook {
    async fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/services/T000/B000/s3cretw3bhook",
            listener.local_addr().unwrap()
        );
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket, status, Arc::clone(&kept)));
            }
        });
        Self { url, bodies }
    }

    /// The `text` of every message posted so far (retries included).
    fn texts(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// Read one HTTP/1.1 request (its head, then a `Content-Length` body), keep the body, answer
/// `status` and close the connection.
async fn answer(mut socket: TcpStream, status: u16, kept: Arc<Mutex<Vec<Value>>>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let body = serde_json::from_slice(&data[head_end..head_end + length]).unwrap_or(Value::Null);
    kept.lock().unwrap().push(body);
    let reason = if status == 200 { "OK" } else { "Error" };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\
         connection: close\r\n\r\nok"
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_posts_one_notice_to_slack() {
    let slack = Webhook::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = run(
        dir.path(),
        &failing_pipeline(dir.path()),
        &["--logs-to-slack"],
        &[("SLACK_WEBHOOK_URL", slack.url.clone())],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let texts = slack.texts();
    assert_eq!(texts.len(), 1, "exactly one message: {texts:#?}");
    let notice = &texts[0];
    let (pipeline, run) = (
        pipeline_id("file", "file", &out_path(dir.path())),
        run_id(dir.path()),
    );
    for needle in [
        pipeline.as_str(),
        run.as_str(),
        "status: failed",
        "missing-*.csv",
    ] {
        assert!(notice.contains(needle), "{needle:?} not in {notice}");
    }
    assert!(
        !stderr(&out).contains("could not be posted"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_run_posts_nothing_to_slack() {
    let slack = Webhook::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = native_pipeline(dir.path());
    config["logs"] = json!({"error_log_to_slack": true, "slack_webhook_url": slack.url});
    let (out, _) = run(dir.path(), &config, &[], &[]).await;
    assert_ok(&out);
    assert_eq!(slack.texts(), Vec::<String>::new());
}

/// Slack answers 500 to everything, with every line asked for: the run completes, on time, and
/// says what was not posted (without showing the webhook, a secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_answering_500_does_not_fail_or_stall_the_run() {
    let slack = Webhook::start(500).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = native_pipeline(dir.path());
    config["logs"] = json!({
        "error_log_to_slack": true,
        "slack_webhook_url": "${FL_TEST_SLACK_HOOK}",
        "slack_level": "info"
    });
    let drain = 3;
    let drain_arg = drain.to_string();
    let (out, took) = run(
        dir.path(),
        &config,
        &["--api-drain-timeout", drain_arg.as_str()],
        &[("FL_TEST_SLACK_HOOK", slack.url.clone())],
    )
    .await;
    assert_ok(&out);
    assert!(
        took < Duration::from_secs(drain) + MARGIN,
        "took {took:?}\n{}",
        text(&out)
    );
    let stderr = stderr(&out);
    assert!(
        stderr.contains("log lines could not be posted to Slack"),
        "{}",
        text(&out)
    );
    assert!(!stderr.contains("s3cretw3bhook"), "{}", text(&out));
    assert!(!slack.texts().is_empty(), "Slack was never tried");
}

/// Nothing listens where the webhook points: a failed run keeps its own exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_unreachable_leaves_a_failed_runs_exit_code_alone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/services/T/B/X", free_port());
    let drain = 2;
    let drain_arg = drain.to_string();
    let (out, took) = run(
        dir.path(),
        &failing_pipeline(dir.path()),
        &["--logs-to-slack", "--api-drain-timeout", drain_arg.as_str()],
        &[("SLACK_WEBHOOK_URL", url)],
    )
    .await;
    assert_fails(
        &out,
        1,
        &[
            "missing-*.csv",
            "the failure notice could not be posted to Slack",
        ],
    );
    assert!(
        took < Duration::from_secs(drain) + MARGIN,
        "took {took:?}\n{}",
        text(&out)
    );
}

/// CloudWatch's endpoint refuses connections: the run completes, on time, with a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_unreachable_does_not_fail_or_stall_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = native_pipeline(dir.path());
    config["logs"] = json!({
        "log_to_cloudwatch": true,
        "cloudwatch_endpoint_url": format!("http://127.0.0.1:{}", free_port()),
        "cloudwatch_region": "us-east-1"
    });
    let drain = 2;
    let drain_arg = drain.to_string();
    let (out, took) = run(
        dir.path(),
        &config,
        &["--api-drain-timeout", drain_arg.as_str()],
        &offline_aws_env(),
    )
    .await;
    assert_ok(&out);
    assert!(
        took < Duration::from_secs(drain) + MARGIN,
        "took {took:?}\n{}",
        text(&out)
    );
    assert!(
        stderr(&out).contains("could not be delivered to CloudWatch Logs"),
        "{}",
        text(&out)
    );
    assert!(dir.path().join("out.parquet").is_file());
}

#[test]
fn slack_without_a_webhook_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_command(
        dir.path(),
        &native_pipeline(dir.path()),
        &["--logs-to-slack"],
        &[],
    )
    .output()
    .unwrap();
    assert_fails(&out, 2, &["logs.slack_webhook_url", "SLACK_WEBHOOK_URL"]);
}

/// The run log in CloudWatch Logs, against the AWS-compatible test server
/// (`scripts/services.sh`): `--features services`.
#[cfg(feature = "services")]
mod cloudwatch {
    use super::*;
    use common::wasm;
    use fastlane_connectors::aws_test_support::TestAws;

    /// generate (2,000 rows in 4 batches) → `hostile` logging one line per batch → Parquet file.
    fn logging_pipeline(dir: &Path) -> Value {
        json!({
            "source": {"generate": {"rows": 2_000, "batch_size": 500}},
            "transform": {"wasm": wasm("hostile"), "config": {"mode": "log"}, "concurrency": 1},
            "target": {"file": {"path": out_path(dir)}}
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_run_log_reaches_cloudwatch_with_the_transform_lines_tagged() {
        let aws = TestAws::from_env();
        let dir = tempfile::tempdir().unwrap();
        let (out, _) = run(
            dir.path(),
            &logging_pipeline(dir.path()),
            &["--logs-to-cloudwatch"],
            &aws.child_env(),
        )
        .await;
        assert_ok(&out);
        assert!(
            !stderr(&out).contains("could not be delivered"),
            "{}",
            text(&out)
        );

        let run_id = run_id(dir.path());
        let group = pipeline_id("generate", "file", &out_path(dir.path()));
        let logs = aws_sdk_cloudwatchlogs::Client::new(&aws.sdk_config().await);
        let streams = logs
            .describe_log_streams()
            .log_group_name(&group)
            .send()
            .await
            .unwrap_or_else(|e| panic!("log group {group}: {e:?}\n{}", text(&out)));
        let names: Vec<&str> = streams
            .log_streams()
            .iter()
            .filter_map(|s| s.log_stream_name())
            .collect();
        assert_eq!(names.len(), 1, "one stream per run: {names:?}");
        let stream = names[0];
        assert!(
            stream.ends_with(&format!("-{run_id}")) && !stream.contains(':'),
            "stream {stream} of run {run_id}"
        );

        let events = logs
            .get_log_events()
            .log_group_name(&group)
            .log_stream_name(stream)
            .start_from_head(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("events of {group}/{stream}: {e:?}"));
        let messages: Vec<&str> = events.events().iter().filter_map(|e| e.message()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("INFO fastlane run started")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("INFO fastlane run ended") && m.contains("status=Completed")),
            "{messages:#?}"
        );
        let guest = messages
            .iter()
            .filter(|m| **m == "INFO transform:hostile hello from hostile log")
            .count();
        assert_eq!(guest, 4, "one guest line per batch: {messages:#?}");
    }
}
