//! The `influxdb` target: every row becomes one point, rendered as line protocol straight
//! from the Arrow columns (`line_protocol.rs`) and written to a bucket through the InfluxDB v2
//! write API (`POST /api/v2/write`, `writer.rs`), which InfluxDB 2.x, 3.x, Cloud and 1.8+
//! (with `Token user:password`) serve.
//!
//! - The server is pinged when the run opens: an unreachable server or a wrong URL fails the
//!   run before any data moves. Column types are checked at the first batch, before anything
//!   is written.
//! - Each target worker sends its own requests of `batch_size` lines; what is left of a batch
//!   waits for the next one, so requests stay full, and `finish` sends the rest. Points reach
//!   the server in no particular order across workers (their timestamps order them).
//! - **No transactions.** Points are stored as each request is accepted: `commit` has nothing
//!   left to do and a failed run leaves what was written. InfluxDB keeps one point per
//!   measurement, tag set and timestamp (the last write wins), so with a `time_column` a re-run
//!   (or a retried request) writes the same points again over themselves; without one, every
//!   run stamps new times.
//! - Only FULL_TABLE runs ("write every row"): InfluxDB cannot cheaply say the largest key it
//!   holds, so an INCREMENTAL run would have no offset to resume from.

mod config;
mod line_protocol;
// A loopback stand-in for InfluxDB, for the tests of what the test server cannot do.
#[cfg(test)]
mod stub;
#[cfg(test)]
mod tests;
// Against the real server `scripts/services.sh` starts: `--features services`.
#[cfg(all(test, feature = "services"))]
mod service_tests;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use bytes::Bytes;

use config::SECTION;
pub use config::{Config, Precision};
use line_protocol::{Layout, PointSpec, Tally};
use writer::InfluxClient;

use crate::{
    ConnectorError, ReplicationMode, Result, Target, TargetConnector, TargetContext, Writer,
};

#[async_trait]
impl TargetConnector for InfluxTarget {
    type Config = Config;

    /// Check the config, refuse INCREMENTAL runs, and check that the server answers.
    async fn open(config: Config, context: TargetContext) -> Result<Self> {
        let endpoint = config.check()?;
        let target_id = format!("{}.{}", endpoint.bucket, config.measurement);
        full_table_only(
            context.replication_mode,
            &endpoint.bucket,
            &config.measurement,
        )?;
        let retry = writer::retry_policy(
            config.max_attempts,
            Duration::from_millis(config.retry_backoff_ms),
        );
        let precision = config.precision();
        let client = InfluxClient::new(&endpoint, precision, retry)?;
        client.ping().await?;
        if config.time_column.is_none() {
            tracing::info!(
                "{SECTION}: no time_column: rows are stamped with the time they are written, \
                 each with its own time ({} apart)",
                precision.as_str()
            );
        }
        Ok(Self {
            client: Arc::new(client),
            spec: Arc::new(PointSpec {
                measurement: config.measurement,
                tag_columns: config.tag_columns.unwrap_or_default(),
                field_columns: config.field_columns,
                time_column: config.time_column,
                precision,
            }),
            left_out: Arc::default(),
            target_id,
            batch_size: config.batch_size,
            workers: config.concurrency,
        })
    }
}

/// InfluxDB cannot cheaply say the largest key it holds: INCREMENTAL runs are refused.
fn full_table_only(mode: ReplicationMode, bucket: &str, measurement: &str) -> Result<()> {
    if mode == ReplicationMode::Incremental {
        return Err(ConnectorError::config(
            "replication_mode",
            format!(
                "the influxdb target ({bucket}.{measurement}) takes FULL_TABLE runs only: InfluxDB \
                 cannot cheaply say the largest key it holds, so an INCREMENTAL run has no \
                 offset to resume from"
            ),
        ));
    }
    Ok(())
}

/// What the writers left out, over the whole run (reported at its end).
#[derive(Debug, Default)]
struct LeftOut {
    rows_without_fields: AtomicU64,
    non_finite: AtomicU64,
    truncated_times: AtomicU64,
}

impl LeftOut {
    fn add(&self, tally: Tally) {
        self.rows_without_fields
            .fetch_add(tally.rows_without_fields, Ordering::Relaxed);
        self.non_finite
            .fetch_add(tally.non_finite, Ordering::Relaxed);
        self.truncated_times
            .fetch_add(tally.truncated_times, Ordering::Relaxed);
    }
}

/// The configured bucket and measurement of a run.
pub struct InfluxTarget {
    client: Arc<InfluxClient>,
    spec: Arc<PointSpec>,
    left_out: Arc<LeftOut>,
    target_id: String,
    batch_size: usize,
    workers: usize,
}

impl InfluxTarget {
    /// Warn about what was left out of the points written.
    fn report_left_out(&self) {
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let rows = count(&self.left_out.rows_without_fields);
        if rows > 0 {
            tracing::warn!(
                "{SECTION}: {rows} row(s) had no field value (all null, NaN or infinite) and \
                 were skipped: a point needs at least one field"
            );
        }
        let values = count(&self.left_out.non_finite);
        if values > 0 {
            tracing::warn!(
                "{SECTION}: {values} NaN or infinite field value(s) were left out of their \
                 points (line protocol cannot carry them)"
            );
        }
        let times = count(&self.left_out.truncated_times);
        if times > 0 {
            tracing::warn!(
                "{SECTION}: {times} time value(s) were finer than precision '{}' and were \
                 truncated (points of one series may have merged): raise `precision`",
                self.spec.precision.as_str()
            );
        }
    }
}

#[async_trait]
impl Target for InfluxTarget {
    fn target_id(&self) -> String {
        self.target_id.clone()
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn needs_order(&self) -> bool {
        false
    }

    async fn writer(&self, worker: usize) -> Result<Box<dyn Writer>> {
        crate::connector::check_worker(SECTION, worker, self.workers)?;
        Ok(Box::new(InfluxWriter {
            client: self.client.clone(),
            spec: self.spec.clone(),
            left_out: self.left_out.clone(),
            layout: None,
            batch_size: self.batch_size,
            pending: Vec::new(),
            ends: Vec::new(),
            batches: 0,
            stamps: Stamps {
                worker: worker as i64,
                workers: self.workers as i64,
                next: i64::MIN,
            },
        }))
    }

    async fn commit(&self) -> Result<()> {
        // Every point was stored when its request was accepted: nothing to make visible.
        tracing::info!(
            "{SECTION}: {} point(s) written to bucket '{}' (measurement '{}') at {}",
            self.client.written(),
            self.client.bucket(),
            self.spec.measurement,
            self.client.base()
        );
        self.report_left_out();
        Ok(())
    }

    async fn abort(&self) -> Result<()> {
        self.report_left_out();
        let written = self.client.written();
        if written > 0 {
            let rerun = if self.spec.time_column.is_some() {
                "a re-run writes the same points again, which InfluxDB overwrites"
            } else {
                "a re-run stamps its points with new times (there is no time_column)"
            };
            tracing::warn!(
                "{SECTION}: InfluxDB has no transactions: the {written} point(s) already written \
                 to bucket '{}' stay; {rerun}",
                self.client.bucket()
            );
        }
        Ok(())
    }
}

/// One target worker: renders batches into line protocol and sends it in full requests.
pub struct InfluxWriter {
    client: Arc<InfluxClient>,
    spec: Arc<PointSpec>,
    left_out: Arc<LeftOut>,
    /// The spec resolved against the schema of the batches seen so far.
    layout: Option<Arc<Layout>>,
    batch_size: usize,
    /// Rendered lines not sent yet.
    pending: Vec<u8>,
    /// Where each pending line ends in `pending`.
    ends: Vec<usize>,
    /// Batches loaded so far (numbers the batches in errors).
    batches: usize,
    /// Times given to rows when there is no time column.
    stamps: Stamps,
}

/// Write times for rows without a time column: every row gets its own, so no two rows of a
/// run share a series and a time. Worker `w` of `W` takes the times `≡ w (mod W)`, increasing.
struct Stamps {
    worker: i64,
    workers: i64,
    /// The smallest time this worker may use next.
    next: i64,
}

impl Stamps {
    /// The first time for `rows` rows starting now (each next row `workers` units later), and
    /// the step between rows.
    fn take(&mut self, now: i64, rows: usize) -> (i64, i64) {
        let step = self.workers.max(1);
        let mut first = now - now.rem_euclid(step) + self.worker;
        while first < self.next {
            first += step;
        }
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        self.next = first.saturating_add(rows.saturating_mul(step));
        (first, step)
    }
}

impl InfluxWriter {
    /// The layout of `batch`'s schema (resolved again when the schema changes).
    fn layout(&mut self, batch: &RecordBatch) -> Result<Arc<Layout>> {
        let schema = batch.schema();
        if let Some(layout) = self.layout.as_ref().filter(|l| l.fits(&schema)) {
            return Ok(layout.clone());
        }
        let layout = Arc::new(Layout::new(&self.spec, &schema)?);
        self.layout = Some(layout.clone());
        Ok(layout)
    }

    /// Send the pending lines in requests of `batch_size` lines; the last, shorter request
    /// only with `all`.
    async fn send(&mut self, all: bool) -> Result<()> {
        let count = if all {
            self.ends.len()
        } else {
            self.ends.len() - self.ends.len() % self.batch_size
        };
        if count == 0 {
            return Ok(());
        }
        let cut = self.ends[count - 1];
        // One buffer; each request's body is a slice of it, not a copy.
        let data = Bytes::from(std::mem::take(&mut self.pending));
        let mut start = 0;
        for lines in self.ends[..count].chunks(self.batch_size) {
            let Some(&end) = lines.last() else { continue };
            self.client
                .write(data.slice(start..end), lines.len())
                .await?;
            start = end;
        }
        self.pending = data[cut..].to_vec();
        self.ends = self.ends[count..].iter().map(|end| end - cut).collect();
        Ok(())
    }
}

/// Now, in `precision` units.
fn now_in(precision: Precision) -> Result<i64> {
    let now = chrono::Utc::now();
    match precision {
        Precision::S => Some(now.timestamp()),
        Precision::Ms => Some(now.timestamp_millis()),
        Precision::Us => Some(now.timestamp_micros()),
        Precision::Ns => now.timestamp_nanos_opt(),
    }
    .ok_or_else(|| ConnectorError::Other(format!("{SECTION}: the clock is past 2262")))
}

#[async_trait]
impl Writer for InfluxWriter {
    async fn load(&mut self, batch: RecordBatch) -> Result<()> {
        self.batches += 1;
        // Checked on every batch, empty ones too: a type problem fails before any write.
        let layout = self.layout(&batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let (now, step) = match self.spec.time_column {
            Some(_) => (0, 0),
            None => self
                .stamps
                .take(now_in(self.spec.precision)?, batch.num_rows()),
        };
        // Rendering is CPU work: on the blocking pool, like the other targets' encoding.
        let (mut pending, mut ends) = (
            std::mem::take(&mut self.pending),
            std::mem::take(&mut self.ends),
        );
        let number = self.batches;
        let (pending, ends, rendering) = tokio::task::spawn_blocking(move || {
            let rendering = layout.render(&batch, (now, step), number, &mut pending, &mut ends);
            (pending, ends, rendering)
        })
        .await
        .map_err(|e| ConnectorError::Other(format!("{SECTION}: rendering rows failed: {e}")))?;
        self.pending = pending;
        self.ends = ends;
        self.left_out.add(rendering?);
        self.send(false).await
    }

    async fn finish(&mut self) -> Result<()> {
        self.send(true).await
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::Stamps;

    #[test]
    fn workers_never_share_a_time_and_times_only_increase() {
        let mut a = Stamps {
            worker: 0,
            workers: 2,
            next: i64::MIN,
        };
        let mut b = Stamps {
            worker: 1,
            workers: 2,
            next: i64::MIN,
        };
        assert_eq!(a.take(1001, 3), (1000, 2)); // 1000, 1002, 1004
        assert_eq!(b.take(1001, 3), (1001, 2)); // 1001, 1003, 1005
                                                // The clock has not moved (or went back): the next batch continues after the last.
        assert_eq!(a.take(1000, 2), (1006, 2));
        assert_eq!(b.take(1500, 1), (1501, 2));
    }
}
