//! What one `PutLogEvents` call may hold, and the names CloudWatch accepts: pure functions,
//! tested here against the service's documented limits.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use fastlane_wire::redact::redact_text;

use crate::config::{is_log_group_char, MAX_LOG_GROUP_CHARS};
use crate::logging::tap::{truncate, TappedEvent};

/// Most events in one `PutLogEvents` call.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Most bytes in one `PutLogEvents` call: the messages in UTF-8 plus
/// [`EVENT_OVERHEAD_BYTES`] per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What CloudWatch adds to each event's message when it counts a call's size.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// Largest event, overhead included. CloudWatch now takes 1 MB; 256 KiB is its former limit,
/// which AWS-compatible services still enforce.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// Longest message of one event.
pub const MAX_EVENT_MESSAGE_BYTES: usize = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES;
/// The events of one call must lie within 24 hours of each other.
const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// A log group name made of `name` (the pipeline id): every character outside
/// `[.\-_/#A-Za-z0-9]` becomes `_`, at most 512 characters, `fastlane` if nothing is left.
pub fn log_group_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if is_log_group_char(c) { c } else { '_' })
        .take(MAX_LOG_GROUP_CHARS)
        .collect();
    if name.is_empty() {
        "fastlane".to_string()
    } else {
        name
    }
}

/// The log stream of a run: its start time in UTC, `2026-11-22T10-15-30.123Z` (stream names may
/// not hold `:`), then `-` and the run id. Streams sort by start time, and a run's stream is
/// found from its id.
pub fn log_stream_name(started_at: DateTime<Utc>, run_id: &str) -> String {
    format!("{}-{run_id}", started_at.format("%Y-%m-%dT%H-%M-%S%.3fZ"))
        .chars()
        .map(|c| if matches!(c, ':' | '*') { '_' } else { c })
        .take(MAX_LOG_GROUP_CHARS)
        .collect()
}

/// One event waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// When it happened, in milliseconds since the epoch.
    pub at_ms: i64,
    /// `LEVEL origin message`.
    pub message: String,
}

impl LogEvent {
    /// A tapped event as CloudWatch gets it: `LEVEL origin message`, secrets redacted, cut to
    /// [`MAX_EVENT_MESSAGE_BYTES`].
    pub fn from_tapped(event: &TappedEvent) -> Self {
        let mut message = format!("{} {}", event.level, event.origin);
        if !event.message.is_empty() {
            message.push(' ');
            message.push_str(&redact_text(&event.message));
        }
        Self {
            at_ms: event.at.timestamp_millis(),
            message: truncate(message, MAX_EVENT_MESSAGE_BYTES),
        }
    }

    /// Its size as CloudWatch counts it.
    pub fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD_BYTES
    }
}

/// One `PutLogEvents` call's worth from the front of `queue`, in chronological order: at most
/// [`MAX_BATCH_EVENTS`] events and [`MAX_BATCH_BYTES`] bytes, spanning less than 24 hours.
/// Never empty unless `queue` is (an event too large alone still goes, to be refused alone).
pub fn take_batch(queue: &mut VecDeque<LogEvent>) -> Vec<LogEvent> {
    let (mut count, mut bytes) = (0, 0);
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for event in queue.iter() {
        let (lo, hi) = (first.min(event.at_ms), last.max(event.at_ms));
        let full = count == MAX_BATCH_EVENTS
            || bytes + event.size() > MAX_BATCH_BYTES
            || hi.saturating_sub(lo) >= MAX_BATCH_SPAN_MS;
        if count > 0 && full {
            break;
        }
        (count, bytes, first, last) = (count + 1, bytes + event.size(), lo, hi);
    }
    let mut batch: Vec<LogEvent> = queue.drain(..count).collect();
    // Lines logged at the same moment on two threads may arrive swapped; the sort is stable.
    batch.sort_by_key(|e| e.at_ms);
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::check_log_group_name;
    use chrono::TimeZone;
    use tracing::Level;

    fn event(at_ms: i64, bytes: usize) -> LogEvent {
        LogEvent {
            at_ms,
            message: "x".repeat(bytes),
        }
    }

    fn batches(mut queue: VecDeque<LogEvent>) -> Vec<Vec<LogEvent>> {
        let mut out = Vec::new();
        while !queue.is_empty() {
            out.push(take_batch(&mut queue));
        }
        out
    }

    #[test]
    fn a_call_holds_at_most_ten_thousand_events() {
        let sizes: Vec<usize> = batches((0..10_001).map(|i| event(i, 10)).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10_000, 1]);
    }

    #[test]
    fn a_call_holds_at_most_a_mebibyte_counting_26_bytes_per_event() {
        // 4 events of the largest size fill a call exactly: 4 × (262,118 + 26) = 1,048,576.
        let largest = event(0, MAX_EVENT_MESSAGE_BYTES);
        assert_eq!(largest.size(), MAX_EVENT_BYTES);
        let sizes: Vec<usize> = batches(vec![largest; 5].into())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [4, 1]);
        // 1,000-byte messages: 1,022 × 1,026 = 1,048,572 fits, one more does not.
        let calls = batches((0..2_000).map(|i| event(i, 1_000)).collect());
        assert_eq!(calls[0].len(), 1_022);
        for call in &calls {
            assert!(call.iter().map(LogEvent::size).sum::<usize>() <= MAX_BATCH_BYTES);
        }
    }

    #[test]
    fn a_call_is_in_chronological_order_within_24_hours() {
        let queue: VecDeque<LogEvent> = [(3, "c"), (1, "a"), (2, "b1"), (2, "b2")]
            .into_iter()
            .map(|(at_ms, m)| LogEvent {
                at_ms,
                message: m.into(),
            })
            .collect();
        let order: Vec<String> = batches(queue)[0]
            .iter()
            .map(|e| e.message.clone())
            .collect();
        assert_eq!(order, ["a", "b1", "b2", "c"]);

        let day = MAX_BATCH_SPAN_MS;
        let sizes: Vec<usize> = batches(
            [event(day, 1), event(1, 1), event(day - 1, 1), event(0, 1)]
                .into_iter()
                .collect(),
        )
        .iter()
        .map(Vec::len)
        .collect();
        // day, 1 and day-1 span less than a day; adding 0 would span a whole one.
        assert_eq!(sizes, [3, 1]);
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let tapped = TappedEvent {
            at: Utc::now(),
            level: Level::ERROR,
            origin: "transform:mask".into(),
            message: "é".repeat(200_000),
        };
        let e = LogEvent::from_tapped(&tapped);
        assert!(
            e.message.len() <= MAX_EVENT_MESSAGE_BYTES,
            "{}",
            e.message.len()
        );
        assert!(e.message.len() > MAX_EVENT_MESSAGE_BYTES - 4);
        assert!(e.message.starts_with("ERROR transform:mask éé"));
        assert!(e.message.ends_with('…'));
        let short = TappedEvent {
            message: "bad row password=hunter2".into(),
            ..tapped
        };
        assert_eq!(
            LogEvent::from_tapped(&short).message,
            "ERROR transform:mask bad row password=***"
        );
    }

    #[test]
    fn group_and_stream_names_are_valid() {
        assert_eq!(
            log_group_name("generate-file-/tmp/out:1*.parquet"),
            "generate-file-/tmp/out_1_.parquet"
        );
        assert_eq!(log_group_name(&"é".repeat(600)).chars().count(), 512);
        assert_eq!(log_group_name(""), "fastlane");
        assert!(check_log_group_name(&log_group_name("a b:c")).is_ok());
        assert!(check_log_group_name("/fastlane/orders#2").is_ok());
        assert!(check_log_group_name("bad name").is_err());
        assert!(check_log_group_name("").is_err());
        assert!(check_log_group_name(&"a".repeat(513)).is_err());
        assert!(check_log_group_name("aws/lambda").is_err());

        let started = Utc.with_ymd_and_hms(2026, 11, 22, 10, 15, 30).unwrap()
            + chrono::Duration::milliseconds(123);
        assert_eq!(
            log_stream_name(started, "20261122T101530.123Z-4242"),
            "2026-11-22T10-15-30.123Z-20261122T101530.123Z-4242"
        );
        assert_eq!(
            log_stream_name(started, "a:b*c"),
            "2026-11-22T10-15-30.123Z-a_b_c"
        );
    }
}
