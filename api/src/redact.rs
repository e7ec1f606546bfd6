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
    "passphrase",
    "accountkey",
    "account_key",
    "private_key_passphrase",
    "sig",
    "signature",
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

/// Free text (a log line, an error message) with the secrets it may hold replaced: the password
/// of every URL in it, secret-looking query parameters, and `key=value` pairs whose key names a
/// secret (`password=…`, `AccountKey=…`).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&redact_word(word));
    }
    out
}

fn redact_word(word: &str) -> String {
    let word = redact_url(word);
    // `k=v;k2=v2` (connection strings) and `a?k=v&k2=v2` (query strings) alike.
    let mut out = String::with_capacity(word.len());
    let mut rest = word.as_str();
    while let Some(eq) = rest.find('=') {
        let key_start = rest[..eq]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |i| i + 1);
        let value_end = rest[eq + 1..]
            .find(['&', ';', ',', '"', '\'', ')'])
            .map_or(rest.len(), |i| eq + 1 + i);
        out.push_str(&rest[..=eq]);
        let key = &rest[key_start..eq];
        let value = &rest[eq + 1..value_end];
        if is_secret_key(key) && !value.is_empty() {
            out.push_str(REDACTED);
        } else {
            out.push_str(value);
        }
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host/…` → `scheme://user:***@host/…`, and secret-looking query
/// parameters (`?password=…`, `&sig=…`) replaced too; anything else unchanged.
pub fn redact_url(s: &str) -> String {
    let credentials = redact_url_credentials(s);
    match credentials.find("://").and(credentials.find('?')) {
        Some(q) => {
            let (base, query) = credentials.split_at(q);
            let mut out = base.to_string();
            for (i, pair) in query[1..].split('&').enumerate() {
                out.push(if i == 0 { '?' } else { '&' });
                match pair.split_once('=') {
                    Some((k, v)) if is_secret_key(k) && !v.is_empty() => {
                        out.push_str(k);
                        out.push('=');
                        out.push_str(REDACTED);
                    }
                    _ => out.push_str(pair),
                }
            }
            out
        }
        None => credentials,
    }
}

fn redact_url_credentials(s: &str) -> String {
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
    fn free_text_keeps_its_words_and_loses_its_secrets() {
        let line =
            "cannot connect to postgres://etl:hunter2@db:5432/shop?sslmode=require&password=x2 \
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
