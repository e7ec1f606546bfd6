//! Secrets never reach the monitoring database: config values under secret-looking keys and the
//! passwords inside connection URLs are replaced before a pipeline config is stored.

use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "***";

/// Key names (lower-cased, `-` read as `_`) whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "access_key_id",
    "secret_key",
    "secret_access_key",
    "aws_secret_access_key",
    "aws_session_token",
    "session_token",
    "private_key",
    "private_key_id",
    "client_secret",
    "credentials",
    "credentials_json",
    "service_account_json",
    "webhook",
    "webhook_url",
    "slack_webhook_url",
    "authorization",
    "auth",
];

/// Whether a config key names a secret: one of the known names, or any key ending in
/// `_password`, `_token`, `_secret` or `_key` that is not a column or key-column setting.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    if SECRET_KEYS.contains(&k.as_str()) {
        return true;
    }
    // `key`, `replication_key`, `partition_key`... name columns, not secrets.
    let column_like = k == "key" || k.ends_with("replication_key") || k.ends_with("partition_key");
    !column_like
        && (k.ends_with("_password")
            || k.ends_with("_token")
            || k.ends_with("_secret")
            || k.ends_with("_secret_key")
            || k.ends_with("_api_key"))
}

/// A copy of `config` with every secret replaced by [`REDACTED`]. `${ENV}` references and
/// `password_env`-style names are kept: they say where a secret comes from, not what it is.
pub fn redact_config(config: &Value) -> Value {
    match config {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !is_reference(v) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_config(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_config).collect()),
        Value::String(s) => Value::String(redact_url(s)),
        other => other.clone(),
    }
}

/// `${NAME}` alone: a pointer to the environment, safe to show.
fn is_reference(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.starts_with("${") && s.ends_with('}') && !s[2..s.len() - 1].contains(['$', '{', '}'])
    })
}

/// `scheme://user:password@host/…` → `scheme://user:***@host/…`; anything else unchanged.
pub fn redact_url(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_string();
    };
    let rest = &s[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return s.to_string();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return s.to_string();
    };
    format!(
        "{}://{}:{}{}",
        &s[..scheme_end],
        &userinfo[..colon],
        REDACTED,
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passwords_tokens_and_url_credentials_are_replaced() {
        let config = json!({
            "source": {"mysql": {"host": "db", "username": "etl", "password": "hunter2",
                                  "password_env": "DB_PASSWORD", "key": "id", "table": "orders"}},
            "target": {"s3": {"bucket": "lake", "aws_secret_access_key": "AKIA/xyz",
                               "endpoint_url": "http://minio:9000"}},
            "mongodb": {"uri": "mongodb://app:s3cr%40t@mongo:27017/db?authSource=admin"},
            "logs": {"slack_webhook_url": "https://hooks.slack.com/services/T/B/X"},
            "influx": {"token": "${INFLUX_TOKEN}", "tag_columns": ["host"]},
            "nested": [{"api_key": "k-123"}, {"db_password": "p"}]
        });
        let redacted = redact_config(&config);
        let text = redacted.to_string();
        for secret in [
            "hunter2",
            "AKIA/xyz",
            "s3cr%40t",
            "hooks.slack.com",
            "k-123",
            "\"p\"",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(redacted["source"]["mysql"]["password"], "***");
        assert_eq!(redacted["source"]["mysql"]["password_env"], "DB_PASSWORD");
        assert_eq!(redacted["source"]["mysql"]["key"], "id");
        assert_eq!(redacted["source"]["mysql"]["username"], "etl");
        assert_eq!(
            redacted["mongodb"]["uri"],
            "mongodb://app:***@mongo:27017/db?authSource=admin"
        );
        assert_eq!(redacted["influx"]["token"], "${INFLUX_TOKEN}");
        assert_eq!(
            redacted["target"]["s3"]["endpoint_url"],
            "http://minio:9000"
        );
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
}
