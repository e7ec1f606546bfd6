//! Errors of the transform host; each names the transform and, for calls, the batch.

/// What went wrong with a transform.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The component could not be read, compiled or linked against the contract.
    #[error("transform {path}: {message}")]
    Load { path: String, message: String },
    /// The guest returned an error variant.
    #[error("transform '{transform}' {call}: {kind}: {message}")]
    Guest {
        transform: String,
        call: String,
        kind: &'static str,
        message: String,
    },
    /// The guest went past a limit of its sandbox; the instance was discarded when the call
    /// trapped (memory, time). `detail`: the guest's last stderr line, if any.
    #[error("transform '{transform}' {call}: {exceeded}{detail}")]
    Limit {
        transform: String,
        call: String,
        exceeded: super::LimitExceeded,
        detail: String,
    },
    /// The guest trapped or was stopped; the instance was discarded.
    #[error("transform '{transform}' {call}: {message}")]
    Trap {
        transform: String,
        call: String,
        message: String,
    },
    /// The guest's output broke the contract (not Arrow IPC, ...).
    #[error("transform '{transform}' {call}: {message}")]
    Output {
        transform: String,
        call: String,
        message: String,
    },
    /// The transform's config does not satisfy the schema from its `describe`.
    #[error("transform '{transform}' config: {message}")]
    Config { transform: String, message: String },
}
