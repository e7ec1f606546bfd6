//! The `mysql` source: one MySQL/MariaDB table, read in key order.
//!
//! - **Plan** ([`plan`]): the table's declared columns become an Arrow schema that holds every
//!   value exactly (see `crate::mysql::types`); the key column decides the order.
//! - **Snapshot** ([`partition`]): every connection reads inside `START TRANSACTION WITH
//!   CONSISTENT SNAPSHOT`; with `concurrency > 1` the key range is split into partitions, one
//!   connection each, whose snapshots are taken together under a brief table read lock.
//! - **Pages** ([`reader`]): `SELECT … WHERE key > ? [AND key <= ?] [AND (where)] ORDER BY key
//!   LIMIT batch_size`, the last key bound as a parameter (values are never formatted into
//!   SQL); each page becomes one record batch, decoded straight from the binary protocol.
//!
//! Readers run as tasks ahead of the pipeline (a couple of pages each). In FULL_TABLE runs the
//! partitions' batches are delivered as they come; in INCREMENTAL runs they are delivered in
//! key order (partition after partition), so a target that records its largest key always has
//! every smaller key.

mod config;
mod decode;
mod partition;
mod plan;
mod reader;
// Against the real server `scripts/services.sh` starts: `--features services`.
#[cfg(all(test, feature = "services"))]
mod service_tests;

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub use config::Config;
use config::SECTION;
use plan::TablePlan;

use crate::{ConnectorError, ReplicationMode, Result, Source, SourceConnector, SourceContext};

/// Pages each reader may decode ahead of the pipeline.
const PAGES_AHEAD: usize = 2;

#[async_trait]
impl SourceConnector for MySqlSource {
    type Config = Config;

    /// Connect, read the table's columns, take the snapshot(s) and start the readers.
    async fn open(config: Config, context: SourceContext) -> Result<Self> {
        config.check()?;
        let endpoint = config.endpoint()?;
        let mut control = endpoint.connect(false).await?;
        let plan = std::sync::Arc::new(TablePlan::new(&mut control, &endpoint, &config).await?);
        let after = plan.start_after(&config, &context)?;
        let partitions =
            partition::start(control, &endpoint, &plan, config.concurrency, after).await?;

        let ordered = context.replication_mode == ReplicationMode::Incremental;
        let mut readers = JoinSet::new();
        let delivery = if ordered {
            let mut queues = std::collections::VecDeque::new();
            for part in partitions {
                let (tx, rx) = mpsc::channel(PAGES_AHEAD);
                readers.spawn(reader::run(part, plan.clone(), tx));
                queues.push_back(rx);
            }
            Delivery::InKeyOrder(queues)
        } else {
            let (tx, rx) = mpsc::channel(PAGES_AHEAD * partitions.len());
            for part in partitions {
                readers.spawn(reader::run(part, plan.clone(), tx.clone()));
            }
            Delivery::AsTheyCome(rx)
        };
        Ok(Self {
            plan,
            delivery,
            readers,
            emitted: false,
        })
    }
}

/// A page read by a partition's reader, or the error that stopped it.
type Page = Result<RecordBatch>;

/// Where the batches come from: one queue for all partitions, or one per partition read in
/// order.
enum Delivery {
    AsTheyCome(mpsc::Receiver<Page>),
    InKeyOrder(std::collections::VecDeque<mpsc::Receiver<Page>>),
}

/// The open source: reader tasks running ahead, and the queue(s) they fill.
pub struct MySqlSource {
    plan: std::sync::Arc<TablePlan>,
    delivery: Delivery,
    readers: JoinSet<()>,
    emitted: bool,
}

impl MySqlSource {
    /// The next page from whichever queue is due, `None` when every reader is done.
    async fn next_page(&mut self) -> Option<Page> {
        match &mut self.delivery {
            Delivery::AsTheyCome(rx) => rx.recv().await,
            Delivery::InKeyOrder(queues) => loop {
                let rx = queues.front_mut()?;
                match rx.recv().await {
                    Some(page) => return Some(page),
                    None => {
                        queues.pop_front();
                    }
                }
            },
        }
    }
}

#[async_trait]
impl Source for MySqlSource {
    async fn extract(&mut self) -> Result<Option<RecordBatch>> {
        if let Some(page) = self.next_page().await {
            self.emitted = true;
            return page.map(Some);
        }
        // Every queue closed: a reader that died without reporting an error is still one.
        while let Some(joined) = self.readers.join_next().await {
            if let Err(e) = joined {
                return Err(ConnectorError::Other(format!(
                    "{SECTION}: a reader of {} stopped unexpectedly: {e}",
                    self.plan.table_name
                )));
            }
        }
        if self.emitted {
            return Ok(None);
        }
        // No rows at all: one empty batch still tells the target the columns.
        self.emitted = true;
        Ok(Some(RecordBatch::new_empty(self.plan.schema.clone())))
    }
}
