//! `passthrough`: returns every batch unchanged. The cost of a call is the host's copy plus
//! the SDK's IPC decode (zero-copy) and encode: the floor for any transform.

use fastlane_guest::{Error, Info, RecordBatch, Transform};
use serde::de::IgnoredAny;

/// The identity transform.
struct Passthrough;

impl Transform for Passthrough {
    fn describe() -> Info {
        Info::new(
            "passthrough",
            env!("CARGO_PKG_VERSION"),
            "Returns its input unchanged",
        )
        .with_config_schema(r#"{"type": "object", "description": "Any object; it is ignored."}"#)
    }

    fn init(config: &str) -> Result<Self, Error> {
        // The config is ignored, but must still be JSON.
        let _: IgnoredAny = fastlane_guest::parse_config(config)?;
        Ok(Passthrough)
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
        Ok(batch)
    }
}

fastlane_guest::export!(Passthrough);
