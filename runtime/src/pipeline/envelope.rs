//! What travels through the queues: a batch, its source sequence number, and its window slot.

use arrow::array::RecordBatch;
use tokio::sync::OwnedSemaphorePermit;

/// Sequence number of a batch in source order (0, 1, 2, ...).
pub(crate) type Seq = u64;

/// A batch in flight. `batch` is `None` when a transform returned no rows: the envelope still
/// travels so the sequencer knows that sequence number is done.
pub(crate) struct Envelope {
    pub(crate) seq: Seq,
    pub(crate) batch: Option<RecordBatch>,
    /// Freed when the envelope is dropped (after load), letting the source read one more batch.
    pub(crate) _slot: Option<OwnedSemaphorePermit>,
}
