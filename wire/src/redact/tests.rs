use serde_json::{json, Value};

use super::*;

/// Secret key names in the spellings people use: every word style of every base name.
fn secret_key_spellings() -> Vec<String> {
    let bases: &[&[&str]] = &[
        &["password"],
        &["passwd"],
        &["pwd"],
        &["pass"],
        &["passphrase"],
        &["secret"],
        &["token"],
        &["api", "key"],
        &["apikey"],
        &["access", "key"],
        &["secret", "access", "key"],
        &["aws", "secret", "access", "key"],
        &["private", "key"],
        &["private", "key", "id"],
        &["client", "secret"],
        &["auth", "token"],
        &["auth"],
        &["authorization"],
        &["credentials"],
        &["credentials", "json"],
        &["session", "token"],
        &["refresh", "token"],
        &["db", "password"],
        &["db", "pass"],
        &["mysql", "pwd"],
        &["account", "key"],
        &["connection", "string"],
        &["signing", "key"],
        &["encryption", "key"],
        &["master", "key"],
        &["ssl", "key"],
        &["tls", "private", "key"],
        &["client", "key"],
        &["webhook", "url"],
        &["slack", "webhook"],
        &["dsn"],
        &["x", "api", "key"],
        &["cookie"],
        &["sas", "token"],
        &["user", "password"],
        &["admin", "pwd"],
    ];
    let mut out = Vec::new();
    for words in bases {
        let camel: String = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_string()
                } else {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                }
            })
            .collect();
        let pascal = {
            let mut c = camel.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        };
        for spelling in [
            words.join("_"),
            words.join("-"),
            words.join("."),
            words.join(" "),
            words.join("_").to_uppercase(),
            camel,
            pascal,
        ] {
            if !out.contains(&spelling) {
                out.push(spelling);
            }
        }
    }
    out
}

/// `value` placed at several depths: top level, in a section, in a list of objects, deeper.
fn nestings(key: &str, value: Value) -> Vec<Value> {
    vec![
        json!({ key: value.clone() }),
        json!({ "source": { "mysql": { "host": "db", key: value.clone() } } }),
        json!({ "targets": [ { "name": "a" }, { key: value.clone() } ] }),
        json!({ "a": { "b": { "c": [ { "d": { key: value } } ] } } }),
    ]
}

#[test]
fn a_generated_corpus_of_secret_keys_returns_no_secret() {
    let mut leaks = Vec::new();
    let mut n = 0;
    for key in secret_key_spellings() {
        for value in [
            json!(format!("Zq{n}-hunter2-s3cr3t")),
            json!(9_876_000 + n),
            json!({ "nested": format!("Zq{n}-inner-s3cr3t") }),
            json!([format!("Zq{n}-listed-s3cr3t")]),
        ] {
            for config in nestings(&key, value.clone()) {
                let text = redact_config(&config).to_string();
                let secret = match &value {
                    Value::String(s) => s.clone(),
                    Value::Number(v) => v.to_string(),
                    other => other
                        .to_string()
                        .chars()
                        .filter(|c| c.is_alphanumeric())
                        .collect(),
                };
                let leaked = match &value {
                    Value::String(s) => text.contains(s.as_str()),
                    Value::Number(v) => text.contains(&v.to_string()),
                    _ => text.contains(&format!("Zq{n}-")),
                };
                if leaked {
                    leaks.push(format!("{key}: {secret} in {text}"));
                }
            }
            n += 1;
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

#[test]
fn secrets_under_innocent_keys_are_found_by_their_shape() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuS3cr3tPem\nMoreBase64==\n-----END RSA PRIVATE KEY-----";
    let cases = [
        ("note", pem.to_string(), "MIIEowIBAAKCAQEAuS3cr3tPem"),
        (
            "note",
            pem.replace('\n', "\\n"),
            "MIIEowIBAAKCAQEAuS3cr3tPem",
        ),
        (
            "uri",
            "mysql://etl:Pw-in-url-9@db:3306/shop".into(),
            "Pw-in-url-9",
        ),
        (
            "endpoint",
            "https://api.example.com/v1?sig=SigValue123&x=1".into(),
            "SigValue123",
        ),
        (
            "conn",
            "Server=db;Database=x;User Id=etl;Password=ConnPw-77;".into(),
            "ConnPw-77",
        ),
        (
            "conn",
            "host=db password=LibpqPw-5 user=etl".into(),
            "LibpqPw-5",
        ),
        (
            "header",
            "Authorization: Bearer abc.def-ghi_jkl123".into(),
            "abc.def-ghi_jkl123",
        ),
        (
            "header",
            "Basic dXNlcjpodW50ZXIy".into(),
            "dXNlcjpodW50ZXIy",
        ),
        (
            "jwt",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpM".into(),
            "SflKxwRJSMeKKF2QT4fwpM",
        ),
        ("id", "AKIAIOSFODNN7EXAMPLE".into(), "AKIAIOSFODNN7EXAMPLE"),
        (
            "gh",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789".into(),
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        (
            "hook",
            "https://hooks.slack.com/services/T000/B000/XXXXSECRET".into(),
            "XXXXSECRET",
        ),
        (
            "json_blob",
            r#"{"type":"service_account","private_key":"KeyBody-42"}"#.into(),
            "KeyBody-42",
        ),
        ("yaml", "user: etl\npassword: YamlPw-8\n".into(), "YamlPw-8"),
        ("influx", "Token etl:InfluxPw-3".into(), "InfluxPw-3"),
    ];
    for (key, value, secret) in cases {
        for config in nestings(key, json!(value)) {
            let text = redact_config(&config).to_string();
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let line = redact_text(&format!("failed: {value}"));
        assert!(!line.contains(secret), "{secret} leaked from text: {line}");
    }
}

#[test]
fn what_is_not_a_secret_is_kept() {
    let config = json!({
        "source": {"mysql": {"host": "db", "username": "etl", "password_env": "DB_PASSWORD",
                              "key": "id", "table": "orders", "secret_region": "eu-west-1"}},
        "mongodb": {"replication_key": "updated_at", "auth_source": "admin"},
        "s3": {"key": "id", "partition_key": "day", "prefix": "orders/",
               "endpoint_url": "http://minio:9000", "token_file": "/run/token"},
        "influx": {"token": "${INFLUX_TOKEN}", "tag_columns": ["host"], "password": null},
        "transform": {"wasm": "mask.wasm", "config": {"columns": ["email"], "method": "hash"}}
    });
    assert_eq!(redact_config(&config), config);
    for line in [
        "loaded 42 rows into `shop.orders` (key id)",
        "rows=42 user=etl sslmode=require",
        "connecting to postgres://etl@db:5432/shop",
        "the token bucket refilled",
        "error: password authentication failed for user \"etl\"",
    ] {
        assert_eq!(redact_text(line), line);
    }
}

#[test]
fn free_text_keeps_its_words_and_loses_its_secrets() {
    let line = "cannot connect to postgres://etl:hunter2@db:5432/shop?sslmode=require&password=x2 \
                (DSN host=db password=s3cret;AccountKey=abc==;user=etl) rows=42";
    let redacted = redact_text(line);
    for secret in ["hunter2", "x2 ", "s3cret", "abc=="] {
        assert!(!redacted.contains(secret), "{secret} leaked: {redacted}");
    }
    assert!(redacted.contains("sslmode=require"), "{redacted}");
    assert!(redacted.contains("user=etl"), "{redacted}");
    assert!(redacted.contains("rows=42"), "{redacted}");
    assert!(
        redacted.starts_with("cannot connect to postgres://etl:***@db:5432/shop"),
        "{redacted}"
    );
}

#[test]
fn registered_secrets_are_replaced_wherever_they_appear() {
    register_secret("Registered-Pw-41");
    register_secret("ab"); // too short to register
    let line = "server said: Access denied (using password Registered-Pw-41) ab";
    let redacted = redact_text(line);
    assert!(!redacted.contains("Registered-Pw-41"), "{redacted}");
    assert!(redacted.ends_with(" ab"), "{redacted}");
    let config = redact_config(&json!({ "host": "x Registered-Pw-41 y" }));
    assert_eq!(config["host"], "x *** y");
}

#[test]
fn urls_without_credentials_are_unchanged() {
    for url in [
        "http://host:80/path",
        "postgres://user@host/db",
        "not a url",
        "s3://bucket/a@b",
    ] {
        assert_eq!(redact_url(url), url);
    }
}
