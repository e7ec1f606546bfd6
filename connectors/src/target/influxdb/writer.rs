//! HTTP to the server: the ping when the run opens and the write requests, each retried on
//! connection errors, timeouts, 408, 429 and 5xx with a doubling, jittered pause (or the
//! server's `Retry-After`); any other refusal fails at once with the server's message.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode, Url};

use super::config::{Endpoint, Precision, SECTION};
use crate::{ConnectorError, Result};

/// Longest pause between two attempts, unless the first one is set longer.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Most characters of a server's answer quoted in an error.
const MAX_QUOTED: usize = 1_000;

/// How often and how patiently a request is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first one included (at least 1).
    pub max_attempts: u32,
    /// Pause after the first failed attempt; it doubles after each further one.
    pub first_backoff: Duration,
}

impl RetryPolicy {
    /// The pause after failed attempt `attempt` (1-based): `first_backoff` doubling up to
    /// 10 s (or `first_backoff` if longer), scaled by `0.5 + 0.5 × unit` (`unit` in [0, 1)).
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let cap = MAX_BACKOFF.max(self.first_backoff);
        let base = self
            .first_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(cap);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        base.mul_f64(0.5 + 0.5 * unit)
    }
}

/// Whether an answer with `status` may succeed if sent again.
pub fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// The pause a `Retry-After` value asks for (seconds, or an HTTP date), at most 5 minutes;
/// `None` when it is neither.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let pause = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(pause.min(MAX_RETRY_AFTER))
}

/// The useful part of an error answer: InfluxDB's JSON `{"code", "message"}` as
/// `message (code)`, else the text itself, cut to 1,000 characters.
pub fn server_message(body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(answer)) = serde_json::from_slice(body) {
        let text = |key: &str| answer.get(key).and_then(|v| v.as_str()).map(str::trim);
        if let Some(message) = text("message").filter(|m| !m.is_empty()) {
            return cut(&match text("code").filter(|c| !c.is_empty()) {
                Some(code) => format!("{message} ({code})"),
                None => message.to_string(),
            });
        }
    }
    let text = String::from_utf8_lossy(body);
    match text.trim() {
        "" => "(no message)".to_string(),
        text => cut(text),
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A reqwest error with its causes (e.g. `connection refused`), without the URL.
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let error = error.without_url();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A random number in [0, 1), good enough for jitter (std's per-call random hasher keys).
fn jitter_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Why a request failed for good.
#[derive(Debug)]
struct Failure {
    /// Attempts made.
    attempts: u32,
    /// The last answer's status, if the server answered.
    status: Option<StatusCode>,
    /// The last error: `HTTP 503 Service Unavailable: …` or `cannot connect: …`.
    cause: String,
}

/// One server and bucket: sends the requests of every target worker (connections pooled).
#[derive(Debug)]
pub struct InfluxClient {
    http: reqwest::Client,
    write_url: Url,
    ping_url: Url,
    /// The base URL, for messages.
    base: String,
    bucket: String,
    auth: Option<HeaderValue>,
    retry: RetryPolicy,
    written: AtomicU64,
}

impl InfluxClient {
    /// A client writing to `endpoint` in `precision`, trying each request as `retry` says.
    pub(super) fn new(
        endpoint: &Endpoint,
        precision: Precision,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(endpoint.timeout)
            .connect_timeout(endpoint.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("fastlane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConnectorError::Other(format!("{SECTION}: cannot start the HTTP client: {e}"))
            })?;
        let join = |path: &str| {
            endpoint.base.join(path).map_err(|e| {
                ConnectorError::config(format!("{SECTION}.url"), format!("cannot add {path}: {e}"))
            })
        };
        let mut write_url = join("api/v2/write")?;
        {
            let mut query = write_url.query_pairs_mut();
            if let Some(org) = &endpoint.org {
                query.append_pair("org", org);
            }
            query.append_pair("bucket", &endpoint.bucket);
            query.append_pair("precision", precision.as_str());
        }
        Ok(Self {
            http,
            write_url,
            ping_url: join("ping")?,
            base: endpoint.base.as_str().trim_end_matches('/').to_string(),
            bucket: endpoint.bucket.clone(),
            auth: endpoint.auth.clone(),
            retry,
            written: AtomicU64::new(0),
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bucket written to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Points the server has accepted so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Check that the server answers (`GET /ping`, which InfluxDB 1.8, 2.x, 3.x and
    /// VictoriaMetrics serve), so that an unreachable server or a wrong URL fails the run
    /// before any data moves.
    pub async fn ping(&self) -> Result<()> {
        let url = self.ping_url.clone();
        match self
            .send("ping", || self.authorized(self.http.get(url.clone())))
            .await
        {
            Ok(()) => Ok(()),
            Err(failure) => {
                let hint = match failure.status {
                    Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                        " (the credentials were refused: check token, or user and password)"
                    }
                    Some(StatusCode::NOT_FOUND) => {
                        " (no InfluxDB answers /ping there: check the url and its path)"
                    }
                    _ => "",
                };
                Err(ConnectorError::Other(format!(
                    "{SECTION}: the server at {} does not answer: {} after {} attempt(s){hint}",
                    self.base, failure.cause, failure.attempts
                )))
            }
        }
    }

    /// Write `body` (`lines` complete lines of line protocol), retried as the policy says.
    pub async fn write(&self, body: Bytes, lines: usize) -> Result<()> {
        let url = self.write_url.clone();
        let request = || {
            self.authorized(self.http.post(url.clone()))
                .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                .header(ACCEPT, "application/json")
                .body(body.clone())
        };
        match self.send("write", request).await {
            Ok(()) => {
                self.written.fetch_add(lines as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(failure) => {
                let what = format!(
                    "{SECTION}: writing {lines} point(s) to bucket '{}' at {}",
                    self.bucket, self.base
                );
                let hint = match failure.status {
                    Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                        " (check token, or user and password, and its write permission on the bucket)"
                    }
                    Some(StatusCode::NOT_FOUND) => " (check that the bucket exists in the org)",
                    Some(StatusCode::PAYLOAD_TOO_LARGE) => " (lower batch_size)",
                    _ => "",
                };
                Err(ConnectorError::Other(match failure.status {
                    Some(status) if !retryable(status) => format!(
                        "{what} was refused (attempt {} of {}): {}{hint}",
                        failure.attempts, self.retry.max_attempts, failure.cause
                    ),
                    _ => format!(
                        "{what} failed after {} attempt(s): {}{hint}",
                        failure.attempts, failure.cause
                    ),
                }))
            }
        }
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            Some(auth) => request.header(AUTHORIZATION, auth.clone()),
            None => request,
        }
    }

    /// Send the request `build` makes until it succeeds, cannot succeed, or has had every
    /// attempt.
    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> std::result::Result<(), Failure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (status, cause, wait) = match build().send().await {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                Ok(answer) => {
                    let status = answer.status();
                    let wait = answer
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| retry_after(v, Utc::now()));
                    let body = answer.bytes().await.unwrap_or_default();
                    let cause = format!("HTTP {status}: {}", server_message(&body));
                    (Some(status), cause, wait)
                }
                Err(e) if e.is_builder() => {
                    return Err(Failure {
                        attempts: attempt,
                        status: None,
                        cause: describe(e),
                    })
                }
                Err(e) => (None, describe(e), None),
            };
            let again = status.is_none_or(retryable);
            if !again || attempt >= self.retry.max_attempts {
                return Err(Failure {
                    attempts: attempt,
                    status,
                    cause,
                });
            }
            let pause = wait.unwrap_or_else(|| self.retry.backoff(attempt, jitter_unit()));
            tracing::warn!(
                "{SECTION}: {what} to {} failed (attempt {attempt} of {}): {cause}; trying again in {pause:?}",
                self.base,
                self.retry.max_attempts
            );
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 9,
            first_backoff: Duration::from_millis(200),
        };
        let full: Vec<u128> = (1..=8)
            .map(|a| policy.backoff(a, 0.999_999).as_millis())
            .collect();
        assert_eq!(full, [199, 399, 799, 1599, 3199, 6399, 9999, 9999]);
        let half: Vec<u128> = (1..=3)
            .map(|a| policy.backoff(a, 0.0).as_millis())
            .collect();
        assert_eq!(half, [100, 200, 400]);
        assert_eq!(
            policy.backoff(u32::MAX, f64::NAN),
            Duration::from_millis(7_500)
        );
        let slow = RetryPolicy {
            max_attempts: 3,
            first_backoff: Duration::from_secs(30),
        };
        assert_eq!(slow.backoff(3, 0.0), Duration::from_secs(15));
        let none = RetryPolicy {
            max_attempts: 3,
            first_backoff: Duration::ZERO,
        };
        assert_eq!(none.backoff(2, 0.7), Duration::ZERO);
    }

    #[test]
    fn what_is_retried() {
        for code in [500, 502, 503, 504, 429, 408] {
            assert!(retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(!retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 22 Nov 2026 10:00:42 GMT", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past asks for no pause"
        );
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn server_messages_are_read_from_influxdb_json_or_taken_as_text() {
        let json = br#"{"code":"invalid","message":"unable to parse 'x y': bad timestamp"}"#;
        assert_eq!(
            server_message(json),
            "unable to parse 'x y': bad timestamp (invalid)"
        );
        assert_eq!(server_message(br#"{"message":"no code"}"#), "no code");
        assert_eq!(server_message(b"  plain text\n"), "plain text");
        assert_eq!(
            server_message(br#"{"error":"other json"}"#),
            r#"{"error":"other json"}"#
        );
        assert_eq!(server_message(b""), "(no message)");
        let long = "é".repeat(1_500);
        let quoted = server_message(long.as_bytes());
        assert_eq!(quoted.chars().count(), 1_001);
        assert!(quoted.ends_with('…'));
    }
}
