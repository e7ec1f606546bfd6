//! Property tests of the config loader and the command line: mutated configs (every key of a
//! valid config of each connector, replaced by hostile values, removed, or joined by unknown
//! keys) never panic or hang the loader, and a config the loader accepts is never refused by
//! the run for a reason the loader could have seen: opening its connectors against nothing
//! listening fails only to connect, never on the config. Random command lines never panic.

use std::time::Duration;

use fastlane::config::{self, Overrides};
use fastlane::connectors::{registry, ConnectorError, SourceContext, TargetContext};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{json, Value};

/// Valid configs covering every connector (connection keys point at a closed port).
fn bases() -> Vec<Value> {
    let closed = "127.0.0.1";
    vec![
        json!({ "source": { "file": { "path": "in.csv", "batch_size": 100, "infer_rows": 10 } },
                "target": { "file": { "path": "out/x.parquet", "compression": "zstd", "row_group_size": 1000 } },
                "transform": { "concurrency": 2, "limits": { "memory_mb": 64, "call_timeout_ms": 1000 } },
                "max_buffered_batches": 4 }),
        json!({ "source": { "generate": { "rows": 10, "batch_size": 5, "seed": 1 } },
                "target": { "mysql": { "host": closed, "port": 1, "username": "u", "db": "d", "table": "t",
                                       "batch_size": 10, "concurrency": 2, "connect_timeout_s": 1, "keepalive_s": 5 } },
                "replication_mode": "INCREMENTAL" }),
        json!({ "source": { "mysql": { "host": closed, "port": 1, "username": "u", "db": "d", "table": "t",
                                       "key": "id", "batch_size": 10, "connect_timeout_s": 1 } },
                "target": { "s3": { "bucket": "b", "prefix": "p/", "region": "us-east-1",
                                    "endpoint_url": "http://127.0.0.1:1", "batch_size": 10 } } }),
        json!({ "source": { "mongodb": { "host": closed, "port": 1, "database": "d", "collection": "c",
                                         "connect_timeout_s": 1, "read_timeout_s": 1 } },
                "target": { "influxdb": { "url": "http://127.0.0.1:1", "bucket": "b", "measurement": "m",
                                          "timeout_s": 1, "max_attempts": 1 } } }),
        json!({ "source": { "bigquery": { "gcp_project": "p", "dataset_id": "d", "table_id": "t",
                                          "endpoint": "http://127.0.0.1:1", "timeout_s": 1 } },
                "target": { "firehose": { "delivery_stream": "s", "region": "eu-west-1",
                                          "endpoint_url": "http://127.0.0.1:1", "max_attempts": 1 } } }),
    ]
}

/// Values that have broken config loaders before.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(65_536)),
        Just(json!(i32::MAX)),
        Just(json!(u32::MAX)),
        Just(json!(i64::MAX)),
        Just(json!(u64::MAX)),
        Just(json!(9.3e18)),
        Just(json!(1e300)),
        Just(json!(0.5)),
        Just(json!("")),
        Just(json!(" ")),
        Just(json!("\n")),
        Just(json!("us-east-1\n")),
        Just(json!("a\u{0}b")),
        Just(json!("${FASTLANE_FUZZ_UNSET_VARIABLE}")),
        Just(json!("$${escaped}")),
        Just(json!("💥".repeat(3))),
        Just(json!("x".repeat(10_000))),
        Just(json!("../../../../etc/passwd")),
        Just(json!("/dev/zero")),
        Just(json!("INCREMENTAL")),
        Just(json!(null)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!({ "nested": { "deeper": [1, "two", null] } })),
        "[ -~]{0,12}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
    ]
}

/// Every path (object keys) to a value in `doc`.
fn paths(doc: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = doc {
        for (key, value) in map {
            at.push(key.clone());
            out.push(at.clone());
            paths(value, at, out);
            at.pop();
        }
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Set(Value),
    Remove,
    AddUnknown(String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => hostile_value().prop_map(Mutation::Set),
        1 => Just(Mutation::Remove),
        1 => "[a-z_]{1,10}".prop_map(Mutation::AddUnknown),
    ]
}

fn mutate(mut doc: Value, path: &[String], m: &Mutation) -> Value {
    let (last, parents) = path.split_last().expect("a path");
    let mut at = &mut doc;
    for key in parents {
        // An earlier mutation may have replaced the way there.
        match at.get_mut(key.as_str()) {
            Some(next) => at = next,
            None => return doc,
        }
    }
    if let Some(map) = at.as_object_mut() {
        match m {
            Mutation::Set(v) => {
                map.insert(last.clone(), v.clone());
            }
            Mutation::Remove => {
                map.remove(last);
            }
            Mutation::AddUnknown(name) => {
                map.insert(format!("{name}_x"), json!(1));
            }
        }
    }
    doc
}

/// Open the chosen connectors of an accepted config: anything but a failure to connect (or a
/// connection attempt still going after a second) is a check the loader missed.
async fn open_fails_only_to_connect(resolved: &config::ResolvedConfig) -> Result<(), String> {
    let mode = resolved.pipeline.replication_mode;
    let config_error = |kind: &str, e: ConnectorError| match e {
        ConnectorError::Config { path, message } => Err(format!(
            "{kind} accepted by the loader but refused when opened: {path}: {message}"
        )),
        _ => Ok(()),
    };
    let opening = registry::open_source(
        &resolved.source_type,
        &resolved.source,
        SourceContext {
            replication_mode: mode,
            resume_after: None,
        },
    );
    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(1), opening).await {
        config_error("source", e)?;
    }
    let opening = registry::open_target(
        &resolved.target_type,
        &resolved.target,
        TargetContext {
            replication_mode: mode,
            run_id: "fuzz".into(),
        },
    );
    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(1), opening).await {
        config_error("target", e)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_configs_never_panic_and_what_validates_also_opens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id,name\n1,a\n").unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    // Credentials for the AWS connectors, which look for them before connecting.
    std::env::set_var("AWS_ACCESS_KEY_ID", "fuzz");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "fuzz");

    let mut cases = Vec::new();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 1,
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..ProptestConfig::default()
    });
    for base in bases() {
        let mut all = Vec::new();
        paths(&base, &mut Vec::new(), &mut all);
        let strategy = (0..all.len(), mutation(), any::<bool>());
        for _ in 0..120 {
            let (index, m, twice) = strategy.new_tree(&mut runner).expect("a case").current();
            let mut doc = mutate(base.clone(), &all[index], &m);
            if twice {
                let (index2, m2, _) = strategy.new_tree(&mut runner).expect("a case").current();
                doc = mutate(doc, &all[index2], &m2);
            }
            cases.push(doc);
        }
    }
    let mut accepted = 0;
    let mut failures = Vec::new();
    for doc in cases {
        let text = doc.to_string();
        let parsed =
            std::panic::catch_unwind(|| config::parse("fuzz", &text, &Overrides::default()));
        let resolved = match parsed {
            Err(_) => {
                failures.push(format!("the loader panicked on {text}"));
                continue;
            }
            Ok(Err(_)) => continue,
            Ok(Ok(resolved)) => resolved,
        };
        accepted += 1;
        // A config the loader accepts may only fail later when it connects.
        let opened = tokio::spawn({
            let resolved = resolved.clone();
            async move { open_fails_only_to_connect(&resolved).await }
        })
        .await;
        match opened {
            Err(e) => failures.push(format!("opening panicked ({e}) on {text}")),
            Ok(Err(why)) => failures.push(format!("{why}\n  config: {text}")),
            Ok(Ok(())) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(accepted > 30, "only {accepted} mutated configs were accepted: the mutations are too harsh to test the second property");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any command line is parsed or refused with a message, never a panic.
    #[test]
    fn command_lines_never_panic(args in prop::collection::vec(prop_oneof![
        Just("run".to_string()), Just("validate".to_string()), Just("serve".to_string()),
        Just("transform".to_string()), Just("connectors".to_string()), Just("show".to_string()),
        Just("--config".to_string()), Just("--source".to_string()), Just("--target".to_string()),
        Just("--transform".to_string()), Just("--transform-workers".to_string()),
        Just("--transform-config".to_string()), Just("--replication-mode".to_string()),
        Just("--api-interval".to_string()), Just("--api-drain-timeout".to_string()),
        Just("--bind".to_string()), Just("0".to_string()), Just("-1".to_string()),
        Just("1e400".to_string()), Just("NaN".to_string()), Just("18446744073709551616".to_string()),
        Just("{".to_string()), Just("".to_string()), Just("\u{0}".to_string()),
        "[ -~]{0,8}",
    ], 0..8)) {
        let mut argv = vec!["fastlane".to_string()];
        argv.extend(args);
        let parsed = std::panic::catch_unwind(|| {
            let _ = <fastlane::cli::Cli as clap::Parser>::try_parse_from(&argv);
        });
        prop_assert!(parsed.is_ok(), "panicked on {argv:?}");
    }
}
