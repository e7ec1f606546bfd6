//! Reading JSON Lines exactly: a key the inferred schema does not have fails the run (it is
//! never dropped), numbers are taken only where their column's type holds them as written
//! ([`typed::ExactNumbers`]), and a number in a text column keeps its literal text.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::json::ReaderBuilder;

use super::typed;

/// The reader settings every JSON Lines file of a run is read with.
pub(super) fn reader(schema: SchemaRef) -> ReaderBuilder {
    ReaderBuilder::new(schema)
        .with_strict_mode(true)
        .with_coerce_primitive(true)
        .with_decoder_factory(Arc::new(typed::ExactNumbers))
}

/// The line (1-based) of the first record after the first `records_before` records of `path`
/// that does not decode on its own: where a batch's decoding error comes from. `None` when it
/// cannot be found (the file changed, or only records together fail).
pub(super) fn failing_line(
    path: &Path,
    records_before: usize,
    schema: &SchemaRef,
) -> Option<usize> {
    let file = std::fs::File::open(path).ok()?;
    let mut seen = 0;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.ok()?;
        if line.trim().is_empty() {
            continue;
        }
        seen += 1;
        if seen <= records_before {
            continue;
        }
        let mut decoder = reader(schema.clone())
            .with_batch_size(1)
            .build_decoder()
            .ok()?;
        let decoded = decoder
            .decode(line.as_bytes())
            .and_then(|_| decoder.flush());
        if decoded.is_err() {
            return Some(index + 1);
        }
    }
    None
}
