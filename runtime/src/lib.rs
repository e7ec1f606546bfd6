//! fastlane: an ETL engine whose transforms are WebAssembly components exchanging Arrow IPC.
//!
//! A batch's path: [`fastlane_connectors::Source::extract`] → [`pipeline`] queue →
//! [`wasm::TransformInstance::transform`] on a blocking thread → sequencer →
//! [`fastlane_connectors::Target::load`].

pub mod cli;
pub mod config;
pub mod logging;
pub mod monitor;
pub mod pipeline;
pub mod wasm;

pub use fastlane_connectors as connectors;
