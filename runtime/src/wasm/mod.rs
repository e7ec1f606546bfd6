//! The host side of the transform contract: one wasmtime [`Engine`] per process, components
//! compiled once and cached on disk, one sandboxed instance per transform worker.
//!
//! - [`TransformRuntime`]: the engine, the epoch ticker and the component cache.
//! - [`TransformComponent`]: a compiled, linked component ready to instantiate.
//! - [`TransformInstance`]: one worker's store + instance, with its limits and captured stdio.

mod abi;
mod bindings;
mod cache;
mod component_file;
mod engine;
mod error;
mod instance;
mod limits;
mod stdio;

pub use bindings::TransformInfo;
pub use engine::{ComponentInterface, Interrupt, TransformComponent, TransformRuntime};
pub use error::TransformError;
pub use instance::TransformInstance;
pub use limits::{Limit, LimitExceeded, SandboxLimits};
