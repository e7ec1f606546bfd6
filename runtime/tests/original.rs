//! The original fastlane's users move over unchanged: its command line (no verb, `--transform
//! default`, its `--logs_to_*` spellings), its top-level `ssm` and its `add_op_fields` default,
//! and the messages a mistake in that layout gets.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// A pipeline with two sources and two targets, as the original's files had: the command line
/// picks one of each.
fn two_of_each(dir: &Path) -> Value {
    json!({
        "source": {
            "generate": { "rows": 500, "batch_size": 100 },
            "file": { "path": dir.join("missing-*.csv").display().to_string() }
        },
        "target": {
            "file": { "path": dir.join("out.parquet").display().to_string() },
            "mysql": { "host": "127.0.0.1", "username": "etl", "db": "shop", "table": "orders" }
        }
    })
}

fn write(dir: &Path, name: &str, config: &Value) {
    std::fs::write(
        dir.join(name),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
}

fn columns(path: &Path) -> Vec<String> {
    let batch = read_parquet(path);
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// `fastlane --source=generate --target=file --config=p.json EXTRA…`: the original's form.
fn original_cli(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--source=generate", "--target=file", "--config=p.json"];
    args.extend_from_slice(extra);
    fastlane(dir, &args)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_original_command_line_runs_with_no_verb_and_its_op_fields() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.json", &two_of_each(dir.path()));
    let out = original_cli(dir.path(), &["--transform=default"]);
    assert_ok(&out);
    let names = columns(&dir.path().join("out.parquet"));
    assert_eq!(
        &names[names.len() - 2..],
        ["_op_type", "_op_timestamp"],
        "{}",
        text(&out)
    );
    assert_eq!(
        read_parquet(&dir.path().join("out.parquet")).num_rows(),
        500
    );

    // The same file through our own command line: no op fields, as a new user expects.
    let out = fastlane(
        dir.path(),
        &[
            "run", "--source", "generate", "--target", "file", "-c", "p.json",
        ],
    );
    assert_ok(&out);
    let names = columns(&dir.path().join("out.parquet"));
    assert!(!names.iter().any(|n| n.starts_with("_op_")), "{names:?}");

    // An explicit `add_op_fields` wins over either default.
    let mut config = two_of_each(dir.path());
    config["transform"] = json!({ "add_op_fields": false });
    write(dir.path(), "p.json", &config);
    let out = original_cli(dir.path(), &[]);
    assert_ok(&out);
    let names = columns(&dir.path().join("out.parquet"));
    assert!(!names.iter().any(|n| n.starts_with("_op_")), "{names:?}");
}

#[test]
fn transform_default_means_no_component_whatever_the_file_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = two_of_each(dir.path());
    config["transform"] = json!({ "wasm": "no-such.wasm", "concurrency": 2 });
    write(dir.path(), "p.json", &config);
    let out = fastlane(
        dir.path(),
        &[
            "validate",
            "--source=generate",
            "--target=file",
            "--config=p.json",
            "--transform=default",
        ],
    );
    assert_ok(&out);
    let said = stdout(&out);
    assert!(said.contains("no transform"), "{}", text(&out));
    assert!(said.contains("add_op_fields is true"), "{}", text(&out));
    // Without it, the missing component is an error.
    let out = fastlane(
        dir.path(),
        &[
            "validate",
            "--source=generate",
            "--target=file",
            "--config=p.json",
        ],
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr_of(&out).contains("no-such.wasm"), "{}", text(&out));
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn validate_never_says_ok_before_failing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"\0asm\x0d\0\x01\0garbage").unwrap();
    let mut config = two_of_each(dir.path());
    config["transform"] = json!({ "wasm": "broken.wasm" });
    write(dir.path(), "p.json", &config);
    let out = fastlane(
        dir.path(),
        &[
            "validate", "--source", "generate", "--target", "file", "-c", "p.json",
        ],
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!stdout(&out).contains("ok"), "{}", text(&out));
}

#[test]
fn the_original_log_flags_are_hidden_aliases() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.json", &two_of_each(dir.path()));
    // `--logs_to_file` with no value: the config's `logs.log_file`, else fastlane.log.
    let out = original_cli(dir.path(), &["--logs_to_file"]);
    assert_ok(&out);
    let log = std::fs::read_to_string(dir.path().join("fastlane.log")).expect("fastlane.log");
    assert!(log.contains("run started"), "{log}");

    let mut config = two_of_each(dir.path());
    config["logs"] = json!({ "log_file": "named.log" });
    write(dir.path(), "p.json", &config);
    let out = original_cli(dir.path(), &["--logs_to_file"]);
    assert_ok(&out);
    assert!(dir.path().join("named.log").exists(), "{}", text(&out));

    // A value still names the file, in either spelling.
    for flag in ["--logs_to_file=given.log", "--logs-to-file=given2.log"] {
        let out = original_cli(dir.path(), &[flag]);
        assert_ok(&out);
    }
    assert!(dir.path().join("given.log").exists());
    assert!(dir.path().join("given2.log").exists());

    // Slack with no webhook anywhere: the same refusal in both spellings.
    for flag in ["--logs_to_slack", "--logs-to-slack"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fastlane"))
            .args([
                "--source=generate",
                "--target=file",
                "--config=p.json",
                flag,
            ])
            .current_dir(dir.path())
            .env_remove("SLACK_WEBHOOK_URL")
            .output()
            .unwrap();
        assert_fails(&out, 2, &["logs.slack_webhook_url"]);
    }
    // `--logs_to_cloudwatch` parses (the run then needs AWS: only the parsing is checked here,
    // with a config that fails before anything connects).
    let out = fastlane(
        dir.path(),
        &[
            "--source=generate",
            "--target=nowhere",
            "--config=p.json",
            "--logs_to_cloudwatch",
        ],
    );
    assert_fails(&out, 2, &["unknown target type 'nowhere'"]);

    let help = fastlane(dir.path(), &["run", "--help"]);
    let help = stdout(&help);
    assert!(help.contains("--logs-to-file"), "{help}");
    assert!(!help.contains("logs_to_"), "{help}");
}

#[test]
fn a_missing_section_is_named_with_the_ones_present() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.json", &two_of_each(dir.path()));
    let out = fastlane(
        dir.path(),
        &["--source=generate", "--target=s3", "--config=p.json"],
    );
    assert_fails(
        &out,
        2,
        &[
            "--target s3 needs a `s3` section in `target`",
            "`file`, `mysql`",
        ],
    );
    assert!(!stderr_of(&out).contains("bucket"), "{}", text(&out));
    // A source that needs no key still runs on its defaults without a section.
    let config = json!({ "target": { "file": { "path": "o.parquet" } } });
    write(dir.path(), "q.json", &config);
    let out = fastlane(
        dir.path(),
        &["--source=generate", "--target=file", "--config=q.json"],
    );
    assert_ok(&out);
}

#[test]
fn ssm_is_the_region_of_every_secret_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = json!({
        "ssm": { "region": "eu-west-1" },
        "source": { "mysql": { "secret": "prod/db", "db": "shop", "table": "orders", "key": "id" } },
        "target": { "file": { "path": "out.parquet" } }
    });
    write(dir.path(), "p.json", &config);
    let out = fastlane(dir.path(), &["validate", "--config=p.json"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("top-level `ssm`"),
        "the layout rule is said: {}",
        text(&out)
    );
    for (ssm, needle) in [
        (json!({ "region": "eu west 1" }), "ssm.region"),
        (json!({ "region": "" }), "ssm.region"),
        (
            json!({ "zone": "eu-west-1", "region": "eu-west-1" }),
            "ssm.zone: unknown field",
        ),
        (json!("eu-west-1"), "ssm"),
    ] {
        let mut bad = config.clone();
        bad["ssm"] = ssm;
        write(dir.path(), "bad.json", &bad);
        let out = fastlane(dir.path(), &["validate", "--config=bad.json"]);
        assert_fails(&out, 2, &[needle]);
    }
}

#[test]
fn the_original_example_files_validate_with_the_original_command_line() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/original");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        let config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let only = |kind: &str| {
            config[kind]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone()
        };
        let (source, target) = (only("source"), only("target"));
        let out = fastlane(
            &examples,
            &[
                "validate",
                &format!("--source={source}"),
                &format!("--target={target}"),
                &format!("--config={}", path.display()),
                "--transform=default",
            ],
        );
        assert_ok(&out);
        assert!(
            stdout(&out).contains("add_op_fields is true"),
            "{}",
            text(&out)
        );
        checked += 1;
    }
    assert!(checked >= 5, "the examples are there ({checked})");
}
