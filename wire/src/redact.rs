//! Secrets never reach the monitoring database, a log or a terminal: what is stored, shown or
//! printed passes through here first. Redaction is by key and by value:
//!
//! - **keys** that name a secret, whatever their spelling: case, `-`, `_`, `.` and spaces are
//!   ignored, and a key is secret when it holds one of `pass`, `pwd`, `secret`, `token`,
//!   `credential`, `auth`, `cookie`, `signature`, or ends in `key`/`keys` without naming a
//!   column (`key`, `replication_key`, `partition_key`, …). Keys that point at a secret rather
//!   than hold it (`password_env`, `token_file`, `secret_region`) and `${ENV}` references are
//!   kept;
//! - **values** that are secrets wherever they appear: PEM blocks, the password of a URL, secret
//!   query parameters, `key=value` / `key: value` / `"key": "value"` pairs with a secret key
//!   (connection strings), `Bearer`/`Basic` credentials, JWTs, and the well-known token formats
//!   (AWS access key ids, GitHub, Slack, Google API keys, Stripe);
//! - **known secrets**: a process that has read a secret (a runner resolving its config)
//!   registers the value with [`register_secret`], and every later redaction replaces it
//!   wherever it appears (a server echoing a password in an error, say).

use std::sync::{LazyLock, RwLock};

use regex::Regex;
use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "***";

/// Shortest value registered as a known secret: shorter ones would blank ordinary words.
const MIN_KNOWN_SECRET: usize = 4;

/// Parts of a (normalized) key that make it a secret.
const SECRET_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "credential",
    "auth",
    "cookie",
    "signature",
    "webhook",
    "apikey",
    "privatekey",
    "connectionstring",
    "connstr",
    "dsn",
];

/// Normalized keys holding something else than the secret their words suggest: column names,
/// where a secret comes from, or the name of a secret store entry's region.
const NOT_SECRET: &[&str] = &[
    "key",
    "keys",
    "replicationkey",
    "partitionkey",
    "partitionkeys",
    "primarykey",
    "primarykeys",
    "sortkey",
    "sortkeys",
    "shardkey",
    "routingkey",
    "hashkey",
    "rangekey",
    "distkey",
    "clusterkey",
    "clusteringkey",
    "foreignkey",
    "uniquekey",
    "mergekey",
    "upsertkey",
    "dedupkey",
    "dedupekey",
    "joinkey",
    "groupkey",
    "objectkey",
    "s3key",
    "naturalkey",
    "businesskey",
    "surrogatekey",
    "compositekey",
    "idempotencykey",
    "cachekey",
    "secretregion",
    "authsource",
    "authmechanism",
    "authdb",
    "authdatabase",
    "author",
    "authors",
    "passthrough",
    "bypass",
    "compass",
];

/// What comes before `key` in the name of a key that is a credential (`api_key`, `AccountKey`,
/// `ssl-key`): a key called `extra_key` or `sort_key` is a name, not a secret.
const CREDENTIAL_KEY_PREFIXES: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "account",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "master",
    "ssl",
    "tls",
    "client",
    "session",
    "shared",
    "license",
    "licence",
    "subscription",
    "service",
    "storage",
    "consumer",
    "app",
    "ssh",
    "gpg",
    "pgp",
    "hmac",
    "jwt",
    "crypt",
    "deploy",
    "admin",
    "root",
    "user",
];

/// Suffixes of keys that say where a secret is, not what it is.
const POINTER_SUFFIXES: &[&str] = &["env", "envvar", "file", "path", "region"];

/// A key with case and separators removed: `db-Password`, `DB_PASSWORD` and `dbPassword` are
/// all `dbpassword`.
fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a config key (or a `key=value` key in text) names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = normalize(key);
    if k.is_empty() || NOT_SECRET.contains(&k.as_str()) {
        return false;
    }
    if POINTER_SUFFIXES
        .iter()
        .any(|s| k.len() > s.len() && k.ends_with(s))
    {
        return false;
    }
    if SECRET_WORDS.iter().any(|w| k.contains(w)) {
        return true;
    }
    // `api_key`, `AccountKey`, `client-key`, `sslKey`, `signing_keys`: a key that is a key.
    let stem = k
        .strip_suffix("keys")
        .or_else(|| k.strip_suffix("key"))
        .filter(|stem| CREDENTIAL_KEY_PREFIXES.iter().any(|p| stem.ends_with(p)));
    stem.is_some() || k == "sig" || k == "pin"
}

/// Values registered as secrets by this process.
static KNOWN: LazyLock<RwLock<Vec<String>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// Remember `value` as a secret: every later redaction in this process replaces it wherever it
/// appears. Values shorter than a few characters are ignored (they would blank ordinary text).
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_KNOWN_SECRET || value.starts_with("${") {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_string());
        // Longest first: a secret containing another is replaced whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

fn replace_known(text: &str) -> String {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// A copy of `config` with every secret replaced by [`REDACTED`]: values under secret keys
/// (whatever their type), and secrets found in any other string. `${ENV}` references are kept:
/// they say where a secret comes from, not what it is.
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
                    (redact_text(k), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_config).collect()),
        Value::String(s) => Value::String(redact_text(s)),
        other => other.clone(),
    }
}

/// `${NAME}` alone: a pointer to the environment, safe to show.
fn is_reference(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.starts_with("${") && s.ends_with('}') && !s[2..s.len() - 1].contains(['$', '{', '}'])
    })
}

/// Secrets recognisable by their shape alone.
static SHAPES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // PEM blocks (private keys and the like), however they were wrapped or escaped; one
        // cut short runs to the end of its string.
        r"(?s)-----BEGIN [A-Z0-9 ]+-----.*?-----END [A-Z0-9 ]+-----",
        r#"-----BEGIN [A-Z0-9 ]+-----[^"]*"#,
        // JSON Web Tokens.
        r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
        // AWS access key ids, GitHub, Slack, Google API and Stripe keys.
        r"\b(AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b",
        r"\bgh[pousr]_[A-Za-z0-9]{30,}",
        r"\bgithub_pat_[A-Za-z0-9_]{30,}",
        r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
        r"\bAIza[0-9A-Za-z_-]{35}",
        r"\b[sr]k_(live|test)_[A-Za-z0-9]{16,}",
        // Slack incoming webhooks: the path is the secret.
        r"hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("a valid pattern"))
    .collect()
});

/// `Bearer x`, `Basic x`, `Digest x`, and `Token x` when `x` looks like a credential (an
/// Authorization header's value): the credential goes.
static SCHEMES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i:\b(bearer|basic|digest)(\s+)[A-Za-z0-9._~+/=:-]{8,})|\b(Token)(\s+)(?:[^\s:]+:[^\s]+|[A-Za-z0-9._~+/=-]{20,})",
    )
    .expect("a valid pattern")
});

/// `key=value`, `key: value`, `"key": "value"` and `key => value` pairs, with the value up to
/// the next separator (or the closing quote).
static PAIRS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        (?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)
        (?P<sep>["']?\s*(?:=>|=|:)\s*)
        (?:
            "(?P<dq>(?:[^"\\]|\\.)*)"
          | '(?P<sq>[^']*)'
          | (?P<bare>[^\s&;,"'(){}\[\]<>]+)
        )"#,
    )
    .expect("a valid pattern")
});

/// Free text (a log line, an error message, a config value) with the secrets it holds
/// replaced, its words otherwise kept.
pub fn redact_text(text: &str) -> String {
    let mut out = replace_known(text);
    for shape in SHAPES.iter() {
        if shape.is_match(&out) {
            out = shape.replace_all(&out, REDACTED).into_owned();
        }
    }
    out = SCHEMES
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let scheme = c.get(1).or_else(|| c.get(3)).map_or("", |m| m.as_str());
            let space = c.get(2).or_else(|| c.get(4)).map_or(" ", |m| m.as_str());
            format!("{scheme}{space}{REDACTED}")
        })
        .into_owned();
    out = redact_pairs(&out);
    redact_urls(&out)
}

fn redact_pairs(text: &str) -> String {
    PAIRS
        .replace_all(text, |c: &regex::Captures<'_>| {
            let key = &c["key"];
            // `a.b.password=` keeps its last part as the key.
            let last = key.rsplit(['.', '-']).next().unwrap_or(key);
            let whole = &c[0];
            let value = c
                .name("dq")
                .or_else(|| c.name("sq"))
                .or_else(|| c.name("bare"))
                .map(|m| m.as_str())
                .unwrap_or_default();
            // `a.b.password: required field …` is a config path and its message, not a pair.
            let path_and_message =
                c["sep"].trim_start_matches(['"', '\'']).trim() == ":" && key.contains('.');
            let secret = (is_secret_key(key) || is_secret_key(last))
                && !path_and_message
                && !value.is_empty()
                && value != REDACTED
                && !value.starts_with("${")
                // `scheme://…` is a URL, not a pair: its own rule redacts it.
                && !value.starts_with("//");
            if !secret {
                return whole.to_string();
            }
            let start = c.get(0).map_or(0, |m| m.start());
            let (value_start, value_end) = c
                .name("dq")
                .or_else(|| c.name("sq"))
                .or_else(|| c.name("bare"))
                .map_or((0, 0), |m| (m.start() - start, m.end() - start));
            format!("{}{REDACTED}{}", &whole[..value_start], &whole[value_end..])
        })
        .into_owned()
}

/// Every URL in `text` with its password and secret query parameters replaced.
fn redact_urls(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.contains("://") {
            out.push_str(&redact_url(word));
        } else {
            out.push_str(word);
        }
    }
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
mod tests;
