//! The observers of a run: what hears its [`RunEvent`](crate::run::RunEvent)s and shows or
//! ships them — the progress line ([`progress`]), the summary ([`summary`]), the monitoring
//! API ([`api`]); the run log's CloudWatch and Slack observers live in [`crate::logging`].
//! Those that ship data out share one bounded outbox ([`outbox`]).
//!
//! Observers know the run only by its events: none imports the pipeline.

pub mod api;
pub mod outbox;
pub mod progress;
pub mod summary;
