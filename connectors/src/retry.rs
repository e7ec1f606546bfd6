//! The one retry policy: exponential backoff with jitter, an attempt budget, and the pause a
//! server asks for (`Retry-After`). Every part of fastlane that retries — the Firehose and
//! InfluxDB targets, a MySQL batch whose connection was lost, the monitoring API's courier,
//! Slack — takes its pauses from here.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Longest pause a `Retry-After` may ask for (a server asking for more is asking to give up).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// How often and how patiently an operation is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Pause after the first failed attempt; it doubles after each further one.
    pub first: Duration,
    /// Longest pause (a `first` longer than this wins).
    pub max: Duration,
    /// Attempts in all, the first one included; 0 means no limit.
    pub max_attempts: u32,
    /// Pauses are scaled by a random factor in [0.5, 1), so many clients do not retry in step.
    pub jitter: bool,
}

impl Backoff {
    /// `first` doubling up to `max`, jittered, without a limit on attempts.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            max_attempts: 0,
            jitter: true,
        }
    }

    /// The same, with at most `n` attempts (at least 1).
    pub const fn attempts(mut self, n: u32) -> Self {
        self.max_attempts = if n == 0 { 1 } else { n };
        self
    }

    /// The same, without jitter (exact pauses, for tests and for servers that pace us).
    pub const fn exact(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// Whether another attempt may follow failed attempt `attempt` (1-based).
    pub fn allows(&self, attempt: u32) -> bool {
        self.max_attempts == 0 || attempt < self.max_attempts
    }

    /// The pause after failed attempt `attempt` (1-based), with `unit` in [0, 1) as the
    /// random draw of the jitter.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let cap = self.max.max(self.first);
        let base = self
            .first
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(cap);
        if !self.jitter {
            return base;
        }
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        base.mul_f64(0.5 + 0.5 * unit)
    }

    /// The pause after failed attempt `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }
}

/// What a failed attempt says about trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It cannot succeed: give up now.
    GiveUp,
    /// It may succeed later: pause as the policy says.
    Retry,
    /// It may succeed after the pause the server asked for.
    RetryAfter(Duration),
}

/// Run `attempt` until it succeeds, `judge` says to give up, or the policy's attempts are spent;
/// `on_retry` hears of every failure that is retried, with the attempt number and the pause.
/// The last error is returned.
pub async fn retry<T, E, F, Fut>(
    policy: &Backoff,
    mut attempt: F,
    judge: impl Fn(&E) -> Verdict,
    mut on_retry: impl FnMut(&E, u32, Duration),
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut n = 1;
    loop {
        let error = match attempt(n).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let pause = match judge(&error) {
            Verdict::GiveUp => return Err(error),
            _ if !policy.allows(n) => return Err(error),
            Verdict::Retry => policy.delay(n),
            Verdict::RetryAfter(pause) => pause.min(MAX_RETRY_AFTER),
        };
        on_retry(&error, n, pause);
        tokio::time::sleep(pause).await;
        n += 1;
    }
}

/// Whether an HTTP answer with `status` may succeed if sent again: 5xx, 408 and 429.
pub fn retryable_status(status: u16) -> bool {
    (500..600).contains(&status) || status == 408 || status == 429
}

/// The pause a `Retry-After` header asks for (seconds, or an HTTP date), at most
/// [`MAX_RETRY_AFTER`]; `None` when it is neither.
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn pauses_double_within_their_jitter_up_to_the_cap() {
        let policy = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        let high: Vec<u128> = (1..=8)
            .map(|a| policy.delay_with(a, 0.999_999).as_millis())
            .collect();
        assert_eq!(high, [199, 399, 799, 1599, 3199, 6399, 9999, 9999]);
        let low: Vec<u128> = (1..=3)
            .map(|a| policy.delay_with(a, 0.0).as_millis())
            .collect();
        assert_eq!(low, [100, 200, 400]);
        assert_eq!(
            policy.delay_with(u32::MAX, f64::NAN),
            Duration::from_millis(7500)
        );
        let slow = Backoff::new(Duration::from_secs(30), Duration::from_secs(10)).exact();
        assert_eq!(slow.delay_with(3, 0.0), Duration::from_secs(30));
        let none = Backoff::new(Duration::ZERO, Duration::from_secs(1));
        assert_eq!(none.delay_with(2, 0.7), Duration::ZERO);
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
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
        assert!(retryable_status(503) && retryable_status(429) && retryable_status(408));
        assert!(!retryable_status(400) && !retryable_status(404));
    }

    #[tokio::test]
    async fn retry_stops_on_success_on_give_up_and_when_attempts_are_spent() {
        let policy = Backoff::new(Duration::from_millis(1), Duration::from_millis(5)).attempts(3);
        let calls = AtomicU32::new(0);
        let result: Result<u32, &str> = retry(
            &policy,
            |n| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 3 {
                        Err("later")
                    } else {
                        Ok(n)
                    }
                }
            },
            |_| Verdict::Retry,
            |_, _, _| {},
        )
        .await;
        assert_eq!(result, Ok(3));
        let spent: Result<u32, &str> = retry(
            &policy,
            |_| async { Err("again") },
            |_| Verdict::Retry,
            |_, _, _| {},
        )
        .await;
        assert_eq!(spent, Err("again"));
        let mut heard = Vec::new();
        let given_up: Result<u32, &str> = retry(
            &policy,
            |_| async { Err("no") },
            |_| Verdict::GiveUp,
            |_, n, _| heard.push(n),
        )
        .await;
        assert_eq!(given_up, Err("no"));
        assert!(heard.is_empty());
        let mut pauses = Vec::new();
        let _: Result<u32, &str> = retry(
            &policy,
            |_| async { Err("busy") },
            |_| Verdict::RetryAfter(Duration::from_millis(3)),
            |_, _, pause| pauses.push(pause),
        )
        .await;
        assert_eq!(pauses, [Duration::from_millis(3); 2]);
    }
}
