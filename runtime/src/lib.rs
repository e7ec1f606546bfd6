//! fastlane: an ETL engine whose transforms are WebAssembly components exchanging Arrow IPC.
//!
//! A batch's path: [`fastlane_connectors::Source::extract`] → [`pipeline`] queue →
//! [`wasm::TransformInstance::transform`] on a blocking thread → sequencer →
//! [`fastlane_connectors::Writer::load`].

pub mod cli;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod observe;
pub mod pipeline;
pub mod run;
pub mod wasm;

pub use fastlane_connectors as connectors;
