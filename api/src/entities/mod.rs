//! sea-orm entities: one module per table (the schema itself lives in `fastlane-migrations`).

pub mod log_line;
pub mod metric_sample;
pub mod pipeline;
pub mod run;
