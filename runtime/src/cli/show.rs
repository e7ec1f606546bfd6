//! `fastlane show`: print the schema and first rows of a CSV, JSONL or Parquet file.

use std::path::PathBuf;

use arrow::util::pretty::pretty_format_batches;
use clap::Args;
use fastlane_connectors::{registry, SourceContext};

use super::{print_out, EXIT_FAILED};

/// `fastlane show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The file (CSV, JSONL or Parquet; a glob reads several).
    path: PathBuf,
    /// How many rows to print.
    #[arg(long, default_value_t = 10)]
    rows: usize,
}

pub(crate) async fn show(args: ShowArgs) -> u8 {
    match print(&args).await {
        Ok(()) => 0,
        Err(e) => {
            say!("error: {e:#}");
            EXIT_FAILED
        }
    }
}

async fn print(args: &ShowArgs) -> anyhow::Result<()> {
    let config = serde_json::json!({ "path": args.path.display().to_string(), "batch_size": args.rows.clamp(1, 65536) });
    let mut source = registry::open_source("file", &config, SourceContext::default()).await?;
    let mut shown = Vec::new();
    let mut total = 0usize;
    while let Some(batch) = source.extract().await? {
        let take = batch.num_rows().min(args.rows.saturating_sub(total));
        if take > 0 {
            shown.push(batch.slice(0, take));
        }
        total += batch.num_rows();
        if total >= args.rows && !shown.is_empty() {
            break;
        }
    }
    let text = match shown.first() {
        Some(first) => {
            let mut text = String::from("schema:\n");
            for field in first.schema().fields() {
                let null = if field.is_nullable() { "" } else { " not null" };
                text.push_str(&format!(
                    "  {}: {}{null}\n",
                    field.name(),
                    field.data_type()
                ));
            }
            format!("{text}{}\n", pretty_format_batches(&shown)?)
        }
        None => format!("{}: no rows\n", args.path.display()),
    };
    print_out(&text);
    Ok(())
}
