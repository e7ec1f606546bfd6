use super::env::expand;
use super::*;

fn problems(text: &str) -> Vec<Problem> {
    parse("test", text, &Overrides::default())
        .err()
        .map(|e| e.problems)
        .unwrap_or_default()
}

#[test]
fn expands_env_references_and_escapes() {
    std::env::set_var("FASTLANE_CONFIG_TEST_PW", "s3cret");
    assert_eq!(
        expand("a-${FASTLANE_CONFIG_TEST_PW}-b").unwrap(),
        "a-s3cret-b"
    );
    assert_eq!(expand("$${NOT_EXPANDED}").unwrap(), "${NOT_EXPANDED}");
    assert_eq!(
        expand("${FASTLANE_CONFIG_TEST_UNSET}").unwrap_err(),
        "FASTLANE_CONFIG_TEST_UNSET"
    );
}

#[test]
fn a_valid_config_resolves_its_sections() {
    let c = parse(
        "test",
        r#"{"source":{"generate":{"rows":5}},"target":{"file":{"path":"o.csv"}},
            "transform":{"wasm":"t.wasm","concurrency":3,"config":{"a":1}}}"#,
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        (c.source_type.as_str(), c.target_type.as_str()),
        ("generate", "file")
    );
    let (t, path) = c.transform().unwrap();
    assert_eq!((t.concurrency, path), (3, Path::new("t.wasm")));
    assert_eq!(c.pipeline.max_buffered_batches, 8);
    assert_eq!(c.pipeline.replication_mode, ReplicationMode::FullTable);
}

#[test]
fn paths_name_nested_problems() {
    let found = problems(
        r#"{"source":{"generate":{"rows":-1}},"target":{"file":{"path":"x","nope":1}},"transform":{"limits":{"memory_mb":"lots"}}}"#,
    );
    let paths: Vec<_> = found.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"transform.limits.memory_mb"), "{found:?}");
    let found =
        problems(r#"{"source":{"generate":{"rows":-1}},"target":{"file":{"path":"x","nope":1}}}"#);
    let paths: Vec<_> = found.iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"source.generate.rows") && paths.contains(&"target.file.nope"),
        "{found:?}"
    );
}

#[test]
fn slack_without_a_webhook_names_the_key_and_the_variable() {
    let text = r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},"logs":{"error_log_to_slack":true}}"#;
    // Without the variable (restored after: other tests may read it).
    let saved = std::env::var_os(SLACK_WEBHOOK_ENV);
    std::env::remove_var(SLACK_WEBHOOK_ENV);
    let found = problems(text);
    if let Some(saved) = saved {
        std::env::set_var(SLACK_WEBHOOK_ENV, saved);
    }
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, "logs.slack_webhook_url");
    assert!(found[0].message.contains(SLACK_WEBHOOK_ENV), "{found:?}");
}

#[test]
fn cloudwatch_and_slack_settings_are_checked() {
    let found = problems(
        r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},
            "logs":{"log_to_cloudwatch":true,"cloudwatch_log_group":"bad:name",
                    "cloudwatch_endpoint_url":"localhost:4566",
                    "error_log_to_slack":true,"slack_webhook_url":"hooks.slack.com/x"}}"#,
    );
    let paths: Vec<_> = found.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "logs.slack_webhook_url",
            "logs.cloudwatch_log_group",
            "logs.cloudwatch_endpoint_url"
        ],
        "{found:?}"
    );
    let found = problems(
        r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},"logs":{"slack_level":"debug"}}"#,
    );
    assert_eq!(found[0].path, "logs.slack_level", "{found:?}");
    let ok = parse(
        "test",
        r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},
            "logs":{"error_log_to_slack":true,"slack_webhook_url":"https://hooks.slack.com/services/T/B/X",
                    "slack_level":"warn","log_to_cloudwatch":true,"cloudwatch_log_group":"/fastlane/orders#1"}}"#,
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(ok.pipeline.logs.slack_level, SlackLevel::Warn);
}

#[test]
fn logging_flags_switch_the_sinks_on() {
    let overrides = Overrides {
        log_to_cloudwatch: true,
        error_log_to_slack: true,
        ..Overrides::default()
    };
    let c = parse(
        "test",
        r#"{"source":{"generate":{}},"target":{"file":{"path":"x.csv"}},
            "logs":{"slack_webhook_url":"https://hooks.slack.com/services/T/B/X"}}"#,
        &overrides,
    )
    .unwrap();
    assert!(c.pipeline.logs.log_to_cloudwatch && c.pipeline.logs.error_log_to_slack);
    assert_eq!(c.document["logs"]["log_to_cloudwatch"], true);
}
