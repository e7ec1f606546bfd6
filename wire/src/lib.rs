//! What fastlane's runner and its monitoring service say to each other: the API's typed
//! objects ([`model`]: pipelines, runs, metric samples, log lines, one [`model::RunStatus`])
//! and the redaction both sides apply to what they store, show or send ([`redact`]).

pub mod model;
pub mod redact;
