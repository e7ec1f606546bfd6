//! HTTP to the server: the ping when the run opens and the write requests, each retried on
//! connection errors, timeouts, 408, 429 and 5xx with a doubling, jittered pause (or the
//! server's `Retry-After`); any other refusal fails at once with the server's message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode, Url};

use super::config::{Endpoint, Precision, SECTION};
use crate::retry::{self, Backoff, Verdict};
use crate::{ConnectorError, Result};

/// Longest pause between two attempts, unless the first one is set longer.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Most characters of a server's answer quoted in an error.
const MAX_QUOTED: usize = 1_000;

/// How often and how patiently a request is tried: `retry_backoff_ms` doubling up to 10 s,
/// `max_attempts` in all.
pub fn retry_policy(max_attempts: u32, first_backoff: Duration) -> Backoff {
    Backoff::new(first_backoff, MAX_BACKOFF).attempts(max_attempts)
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
    let error = error.without_url();
    crate::error::with_causes(kind.to_string(), std::error::Error::source(&error))
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
    /// The pause the server asked for (`Retry-After`).
    wait: Option<Duration>,
    /// The request could not even be built: trying again cannot help.
    builder: bool,
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
    retry: Backoff,
    written: AtomicU64,
}

impl InfluxClient {
    /// A client writing to `endpoint` in `precision`, trying each request as `retry` says.
    pub(super) fn new(endpoint: &Endpoint, precision: Precision, retry: Backoff) -> Result<Self> {
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
                    Some(status) if !retry::retryable_status(status.as_u16()) => format!(
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
    /// attempt (see [`crate::retry`]).
    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> std::result::Result<(), Failure> {
        retry::retry(
            &self.retry,
            |attempt| {
                let request = build();
                async move {
                    let failure = |status, cause, wait| Failure {
                        attempts: attempt,
                        status,
                        cause,
                        wait,
                        builder: false,
                    };
                    match request.send().await {
                        Ok(answer) if answer.status().is_success() => Ok(()),
                        Ok(answer) => {
                            let status = answer.status();
                            let wait = answer
                                .headers()
                                .get(RETRY_AFTER)
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| retry::retry_after(v, Utc::now()));
                            let body = answer.bytes().await.unwrap_or_default();
                            let cause = format!("HTTP {status}: {}", server_message(&body));
                            Err(failure(Some(status), cause, wait))
                        }
                        Err(e) if e.is_builder() => {
                            Err(Failure {
                                builder: true,
                                ..failure(None, describe(e), None)
                            })
                        }
                        Err(e) => Err(failure(None, describe(e), None)),
                    }
                }
            },
            |failure: &Failure| match (failure.builder, failure.status, failure.wait) {
                (true, _, _) => Verdict::GiveUp,
                (_, Some(status), _) if !retry::retryable_status(status.as_u16()) => {
                    Verdict::GiveUp
                }
                (_, _, Some(wait)) => Verdict::RetryAfter(wait),
                _ => Verdict::Retry,
            },
            |failure, attempt, pause| {
                tracing::warn!(
                    "{SECTION}: {what} to {} failed (attempt {attempt} of {}): {}; trying again in {pause:?}",
                    self.base,
                    self.retry.max_attempts,
                    failure.cause
                )
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_start_at_the_configured_backoff_and_stop_at_ten_seconds() {
        let policy = retry_policy(9, Duration::from_millis(200));
        let full: Vec<u128> = (1..=8)
            .map(|a| policy.delay_with(a, 0.999_999).as_millis())
            .collect();
        assert_eq!(full, [199, 399, 799, 1599, 3199, 6399, 9999, 9999]);
        assert!(policy.allows(8) && !policy.allows(9));
        let slow = retry_policy(3, Duration::from_secs(30));
        assert_eq!(slow.delay_with(3, 0.0), Duration::from_secs(15));
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
