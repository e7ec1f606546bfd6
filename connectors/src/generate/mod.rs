//! The `generate` source: a deterministic synthetic `orders` table, for demos, tests and
//! benchmarks (see [`orders`] for its columns).
//!
//! Building a batch is CPU work (~10 ms for 65 536 rows), too long to hold an async executor
//! thread, so each batch is built on tokio's blocking pool. Rows depend only on the seed and
//! their id, so an INCREMENTAL run resumes after the target's offset without regenerating
//! the rows before it.

pub mod orders;
#[cfg(test)]
mod tests;

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{
    ConnectorConfig, ConnectorError, Offset, ReplicationMode, Result, Source, SourceConnector,
    SourceContext,
};

const SECTION: &str = "source.generate";
/// Largest accepted `batch_size` (keeps every text column of a batch far below 2 GiB).
const MAX_BATCH_SIZE: usize = 1 << 24;

/// Generates the `orders` table: ids `1..=rows`, every value derived from `seed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "generate source")]
pub struct Config {
    /// Number of rows; `id` runs from 1 to `rows`.
    #[serde(default = "default_rows")]
    #[schemars(range(max = 9_223_372_036_854_775_807u64))]
    pub rows: u64,
    /// Rows per record batch.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 16_777_216))]
    pub batch_size: usize,
    /// Seed of the values: the same seed always yields the same rows.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_rows() -> u64 {
    1_000_000
}
fn default_batch_size() -> usize {
    65_536
}
fn default_seed() -> u64 {
    42
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rows: default_rows(),
            batch_size: default_batch_size(),
            seed: default_seed(),
        }
    }
}

impl ConnectorConfig for Config {
    const DESCRIPTION: &'static str =
        "Generate a deterministic synthetic `orders` table (for demos and benchmarks)";

    fn id(&self) -> String {
        "orders".to_string()
    }

    fn check_for(&self, _mode: ReplicationMode) -> Result<()> {
        self.check()
    }
}

#[async_trait]
impl SourceConnector for GenerateSource {
    type Config = Config;

    async fn open(config: Config, context: SourceContext) -> Result<Self> {
        Ok(GenerateSource::new(config, context)?)
    }
}

/// Yields the `orders` rows in id order, `batch_size` rows at a time.
pub struct GenerateSource {
    seed: u64,
    batch_size: usize,
    /// Next id to generate.
    next_id: u64,
    /// Last id to generate (`rows`).
    last_id: u64,
    emitted: bool,
}

impl Config {
    /// Check what serde cannot; errors name the key.
    fn check(&self) -> Result<()> {
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return Err(ConnectorError::config(
                format!("{SECTION}.batch_size"),
                format!("must be between 1 and {MAX_BATCH_SIZE}"),
            ));
        }
        if self.rows > i64::MAX as u64 {
            return Err(ConnectorError::config(
                format!("{SECTION}.rows"),
                format!("must be at most {} (`id` is an Int64)", i64::MAX),
            ));
        }
        Ok(())
    }
}

impl GenerateSource {
    /// Check the config; an INCREMENTAL run starts after `context.resume_after`.
    pub fn new(config: Config, context: SourceContext) -> Result<Self> {
        config.check()?;
        let next_id = match context.resume_after {
            None => 1,
            Some(Offset::Int(after)) => after.max(0) as u64 + 1,
            Some(Offset::UInt(after)) => after.saturating_add(1),
            Some(Offset::Text(after)) => {
                return Err(ConnectorError::config(
                    "replication_mode",
                    format!(
                    "the generate source's key `id` is an integer; cannot resume after {after:?}"
                ),
                ))
            }
        };
        Ok(Self {
            seed: config.seed,
            batch_size: config.batch_size,
            next_id,
            last_id: config.rows,
            emitted: false,
        })
    }
}

#[async_trait]
impl Source for GenerateSource {
    async fn extract(&mut self) -> Result<Option<RecordBatch>> {
        if self.next_id > self.last_id {
            if self.emitted {
                return Ok(None);
            }
            // No rows at all: one empty batch still tells the target the columns.
            self.emitted = true;
            return Ok(Some(RecordBatch::new_empty(orders::schema())));
        }
        let len = (self.last_id - self.next_id + 1).min(self.batch_size as u64) as usize;
        let (seed, first_id) = (self.seed, self.next_id);
        let batch = tokio::task::spawn_blocking(move || orders::batch(seed, first_id, len))
            .await
            .map_err(|e| {
                ConnectorError::Other(format!("generate source: building a batch failed: {e}"))
            })?;
        self.next_id += len as u64;
        self.emitted = true;
        Ok(Some(batch))
    }
}
