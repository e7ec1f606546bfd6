//! Extraction alone: open a source from a pipeline config, read every batch, discard it.
//! Prints one JSON line: rows, batches, seconds, rows/s.
//!
//!     bench_extract CONFIG.json [SOURCE_TYPE]

use std::time::Instant;

use anyhow::Context;
use fastlane_connectors::{registry, SourceContext};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .context("usage: bench_extract CONFIG.json [SOURCE_TYPE]")?;
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let sections = config["source"]
        .as_object()
        .context("the config has no `source` section")?;
    let name = match args.next() {
        Some(name) => name,
        None => sections.keys().next().cloned().context("empty `source`")?,
    };
    let started = Instant::now();
    let mut source =
        registry::open_source(&name, &sections[&name], SourceContext::default()).await?;
    let (mut rows, mut batches, mut bytes) = (0usize, 0usize, 0usize);
    while let Some(batch) = source.extract().await? {
        rows += batch.num_rows();
        batches += 1;
        bytes += batch.get_array_memory_size();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({ "rows": rows, "batches": batches, "batch_bytes": bytes / batches.max(1), "seconds": seconds, "rows_per_s": rows as f64 / seconds })
    );
    Ok(())
}
