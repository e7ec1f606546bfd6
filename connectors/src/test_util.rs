//! What the connectors' tests share.

use arrow::record_batch::RecordBatch;
use serde_json::Value;

use crate::{registry, Result, Source, SourceContext, Target, TargetContext};

/// Open source `name` from its JSON section as a run does: parsed, checked, opened.
pub(crate) async fn open_source(
    name: &str,
    section: Value,
    context: SourceContext,
) -> Result<Box<dyn Source>> {
    registry::open_source(name, &section, context).await
}

/// Open target `name` from its JSON section as a run does: parsed, checked, opened.
pub(crate) async fn open_target(
    name: &str,
    section: Value,
    context: TargetContext,
) -> Result<Box<dyn Target>> {
    registry::open_target(name, &section, context).await
}

/// Load `batches` round-robin through every writer of `target` and finish them (no commit).
pub(crate) async fn load(target: &dyn Target, batches: Vec<RecordBatch>) {
    let mut writers = Vec::new();
    for i in 0..target.workers() {
        writers.push(target.writer(i).await.unwrap());
    }
    let count = writers.len();
    for (i, batch) in batches.into_iter().enumerate() {
        writers[i % count].load(batch).await.unwrap();
    }
    for mut w in writers {
        w.finish().await.unwrap();
    }
}
