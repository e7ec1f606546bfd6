//! The fastlane monitoring service: pipelines, their runs, each run's metric series and logs,
//! over a typed HTTP API documented by its own OpenAPI document. `fastlane serve` runs it;
//! `fastlane run --api URL` reports to it.
//!
//! Storage is SQLite by default (zero setup) or PostgreSQL (many runners, several replicas), both
//! through sea-orm, with the schema migrated on start by `fastlane-migrations`.

pub mod body;
pub mod entities;
pub mod error;
pub mod ingest;
pub mod routes;
mod rows;
pub mod server;
pub mod telemetry;
pub mod ui;

pub use fastlane_wire::{model, redact};
pub use server::{serve, ServeConfig};

/// Free text as stored (a run's error, a log line, an offset, a target id): secrets redacted
/// whoever sent it ([`redact::redact_text`]), and without NUL characters.
pub fn stored_text(s: &str) -> String {
    without_nul(&redact::redact_text(s))
}

/// Text as stored: NUL characters (which PostgreSQL text cannot hold) become U+FFFD.
pub fn without_nul(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_string()
    }
}
