//! Records into PutRecordBatch calls: Firehose's limits per call, the resending of the records a
//! call reports as failed, and the pacing of a `rate_limit`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_firehose::types::{PutRecordBatchResponseEntry, Record};
use aws_sdk_firehose::Client;
use tokio::time::Instant;

use super::config::SECTION;
use crate::aws::call_failed;
use crate::retry::Backoff;
use crate::{ConnectorError, Result};

/// Firehose's limit on the records of one PutRecordBatch call.
pub const MAX_RECORDS_PER_CALL: usize = 500;
/// Firehose's limit on the data of one PutRecordBatch call (the records' sizes added up).
pub const MAX_BYTES_PER_CALL: usize = 4 * 1024 * 1024;
/// Firehose's limit on one record (1,000 KiB, before base64).
pub const MAX_RECORD_BYTES: usize = 1_024_000;

/// Pause before the first resend of failed records; it doubles on each further attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The most one PutRecordBatch call may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLimits {
    /// Records per call (the `batch_size`, at most [`MAX_RECORDS_PER_CALL`]).
    pub max_records: usize,
    /// Bytes per call, the records' sizes added up.
    pub max_bytes: usize,
}

impl CallLimits {
    /// Firehose's limits, with `batch_size` records per call at most.
    pub fn new(batch_size: usize) -> Self {
        Self {
            max_records: batch_size.clamp(1, MAX_RECORDS_PER_CALL),
            max_bytes: MAX_BYTES_PER_CALL,
        }
    }
}

/// How many of the leading records (given by their sizes, in order) go into the next call:
/// as many as fit both limits, and at least one when there is one.
pub fn call_len(sizes: impl IntoIterator<Item = usize>, limits: CallLimits) -> usize {
    let mut count = 0;
    let mut bytes = 0;
    for size in sizes {
        if count == limits.max_records || (count > 0 && bytes + size > limits.max_bytes) {
            break;
        }
        count += 1;
        bytes += size;
    }
    count
}

/// Paces sending to at most `rate` records per second over all the writers sharing it: each
/// call reserves the time its records take at that rate, and waits for its turn. Time left
/// unused is not saved up for later bursts.
#[derive(Debug)]
pub struct Pacer {
    per_record: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    /// A pacer for `records_per_second` (at least 1).
    pub fn new(records_per_second: u32) -> Self {
        Self {
            per_record: Duration::from_secs(1) / records_per_second.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Wait until `records` more records may be sent.
    pub async fn wait(&self, records: usize) {
        let start = self.reserve(records, Instant::now());
        tokio::time::sleep_until(start).await;
    }

    /// Book `records` records at `now`: when they may start.
    fn reserve(&self, records: usize, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let start = (*next).max(now);
        let cost = self
            .per_record
            .saturating_mul(u32::try_from(records).unwrap_or(u32::MAX));
        *next = start + cost;
        start
    }
}

/// Sends calls to one delivery stream and resends what Firehose reports as failed.
#[derive(Debug)]
pub struct StreamSender {
    client: Client,
    stream: String,
    max_attempts: u32,
    pacer: Option<Pacer>,
    delivered: AtomicU64,
}

impl StreamSender {
    /// A sender to `stream`, trying each record up to `max_attempts` times, paced at
    /// `rate_limit` records per second when set.
    pub fn new(client: Client, stream: String, max_attempts: u32, rate_limit: Option<u32>) -> Self {
        Self {
            client,
            stream,
            max_attempts: max_attempts.max(1),
            pacer: rate_limit.map(Pacer::new),
            delivered: AtomicU64::new(0),
        }
    }

    /// The delivery stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Records Firehose has accepted so far.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Send `records` in one PutRecordBatch call (they must fit [`CallLimits`]); the records
    /// Firehose reports as failed are sent again, alone, until each is accepted or has had
    /// `max_attempts` attempts.
    pub async fn put(&self, mut records: Vec<Record>) -> Result<()> {
        let mut attempt = 1;
        loop {
            if let Some(pacer) = &self.pacer {
                pacer.wait(records.len()).await;
            }
            let output = self
                .client
                .put_record_batch()
                .delivery_stream_name(self.stream.as_str())
                .set_records(Some(records.clone()))
                .send()
                .await
                .map_err(|e| {
                    call_failed(
                        format!("{SECTION}: sending to Firehose stream '{}'", self.stream),
                        &e,
                    )
                })?;
            let failed = failures(
                output.failed_put_count(),
                output.request_responses(),
                records.len(),
            )
            .map_err(|message| {
                ConnectorError::Other(format!(
                    "{SECTION}: sending to Firehose stream '{}': {message}",
                    self.stream
                ))
            })?;
            let accepted = records.len() - failed.len();
            self.delivered.fetch_add(accepted as u64, Ordering::Relaxed);
            if failed.is_empty() {
                return Ok(());
            }
            if attempt >= self.max_attempts {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: {} record(s) still failed after {attempt} attempt(s) each, sending to Firehose stream '{}': {}",
                    failed.len(),
                    self.stream,
                    summary(&failed)
                )));
            }
            let pause = BACKOFF.delay(attempt);
            tracing::debug!(
                stream = %self.stream,
                failed = failed.len(),
                attempt,
                "{SECTION}: Firehose refused some records ({}); resending them in {pause:?}",
                summary(&failed)
            );
            tokio::time::sleep(pause).await;
            records = failed.iter().map(|f| records[f.index].clone()).collect();
            attempt += 1;
        }
    }
}

/// A record of a call that Firehose reports as not stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Its position in the call.
    pub index: usize,
    /// Firehose's error code (`ServiceUnavailableException`, `InternalFailure`, …).
    pub code: String,
    /// Firehose's message.
    pub message: String,
}

/// The failed records of a call of `sent` records, from its answer; an error when the answer
/// reports failures without saying which records they are.
pub fn failures(
    failed_put_count: i32,
    responses: &[PutRecordBatchResponseEntry],
    sent: usize,
) -> std::result::Result<Vec<Failure>, String> {
    let failed: Vec<Failure> = responses
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| {
            entry.error_code().map(|code| Failure {
                index,
                code: code.to_string(),
                message: entry.error_message().unwrap_or_default().to_string(),
            })
        })
        .collect();
    if failed_put_count > 0 || !failed.is_empty() {
        if responses.len() != sent {
            return Err(format!(
                "Firehose reported {failed_put_count} failed record(s) but answered {} entries for {sent} records",
                responses.len()
            ));
        }
        if failed.is_empty() {
            return Err(format!(
                "Firehose reported {failed_put_count} failed record(s) without marking which"
            ));
        }
    }
    Ok(failed)
}

/// `code: message (n records)` for each distinct failure, in the order first seen.
pub fn summary(failed: &[Failure]) -> String {
    let mut distinct: Vec<(&str, &str, usize)> = Vec::new();
    for f in failed {
        let seen = distinct
            .iter()
            .position(|&(code, message, _)| code == f.code && message == f.message);
        match seen {
            Some(i) => distinct[i].2 += 1,
            None => distinct.push((f.code.as_str(), f.message.as_str(), 1)),
        }
    }
    distinct
        .iter()
        .map(|(code, message, count)| {
            let records = if *count == 1 { "record" } else { "records" };
            if message.is_empty() {
                format!("{code} ({count} {records})")
            } else {
                format!("{code}: {message} ({count} {records})")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The pauses between attempts at the records a call did not store: 100 ms, doubling, at most
/// 5 s (exact: Firehose throttles per stream, and our own workers already spread out).
pub const BACKOFF: Backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF).exact();

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    /// The calls `sizes` are split into, as ranges of record positions.
    fn split(sizes: &[usize], limits: CallLimits) -> Vec<std::ops::Range<usize>> {
        let mut calls = Vec::new();
        let mut start = 0;
        while start < sizes.len() {
            let n = call_len(sizes[start..].iter().copied(), limits);
            assert!(n > 0, "a call takes at least one record");
            calls.push(start..start + n);
            start += n;
        }
        calls
    }

    #[test]
    fn calls_hold_at_most_500_records() {
        let limits = CallLimits::new(500);
        assert_eq!(split(&[100; 1234], limits), [0..500, 500..1000, 1000..1234]);
        let calls = split(&[100; 500], limits);
        assert_eq!((calls.len(), calls[0].clone()), (1, 0..500));
        assert_eq!(split(&[], limits), Vec::<std::ops::Range<usize>>::new());
        // A batch_size above Firehose's limit is held to it.
        assert_eq!(CallLimits::new(10_000).max_records, 500);
        assert_eq!(
            split(&[10; 250], CallLimits::new(100)),
            [0..100, 100..200, 200..250]
        );
    }

    #[test]
    fn calls_hold_at_most_4_mib() {
        let limits = CallLimits::new(500);
        // Four records of 1 MiB fill a call exactly; a fifth goes to the next one.
        assert_eq!(split(&[MIB; 5], limits), [0..4, 4..5]);
        // 1,000 KiB records: four per call (4,000 KiB), the fifth would pass 4 MiB.
        let big = MAX_RECORD_BYTES;
        assert_eq!(split(&[big; 9], limits), [0..4, 4..8, 8..9]);
        // Small records after big ones fill up to the byte limit.
        let mut sizes = vec![big; 4];
        sizes.extend([MAX_BYTES_PER_CALL - 4 * big, 1]);
        assert_eq!(split(&sizes, limits), [0..5, 5..6]);
        // Both limits: 500 records of 9 KiB are 4.4 MiB.
        assert_eq!(
            split(&[9 * 1024; 1000], limits),
            [0..455, 455..910, 910..1000]
        );
        // A record larger than a whole call still travels, alone.
        assert_eq!(split(&[5 * MIB, 1], limits), [0..1, 1..2]);
    }

    fn entry(code: Option<&str>) -> PutRecordBatchResponseEntry {
        match code {
            Some(code) => PutRecordBatchResponseEntry::builder()
                .error_code(code)
                .error_message(format!("{code} happened"))
                .build(),
            None => PutRecordBatchResponseEntry::builder()
                .record_id("id")
                .build(),
        }
    }

    #[test]
    fn failed_records_are_found_by_position() {
        let answer = [
            entry(None),
            entry(Some("ServiceUnavailableException")),
            entry(None),
            entry(Some("InternalFailure")),
            entry(Some("ServiceUnavailableException")),
        ];
        let failed = failures(3, &answer, 5).unwrap();
        assert_eq!(
            failed.iter().map(|f| f.index).collect::<Vec<_>>(),
            [1, 3, 4]
        );
        assert_eq!(
            summary(&failed),
            "ServiceUnavailableException: ServiceUnavailableException happened (2 records); \
             InternalFailure: InternalFailure happened (1 record)"
        );
        assert!(failures(0, &[entry(None), entry(None)], 2)
            .unwrap()
            .is_empty());
        // Failures that cannot be matched to records are an error, not a silent loss.
        assert!(failures(1, &[entry(None)], 1).is_err());
        assert!(failures(1, &[entry(Some("X"))], 2).is_err());
    }

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        let pauses: Vec<u128> = (1..=8).map(|a| BACKOFF.delay(a).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(BACKOFF.delay(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn the_pacer_spreads_records_over_time() {
        let pacer = Pacer::new(100);
        let now = Instant::now();
        assert_eq!(pacer.reserve(50, now), now);
        assert_eq!(pacer.reserve(50, now), now + Duration::from_millis(500));
        assert_eq!(pacer.reserve(1, now), now + Duration::from_millis(1000));
        // Idle time is not saved up: after a pause, the next call starts at once.
        let later = now + Duration::from_secs(60);
        assert_eq!(pacer.reserve(500, later), later);
        assert_eq!(pacer.reserve(1, later), later + Duration::from_secs(5));
    }
}
