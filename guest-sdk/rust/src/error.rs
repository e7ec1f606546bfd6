//! The error a transform returns; mapped one to one onto the WIT `error` variant.

use std::fmt;

/// Why a call failed. The message reaches the user verbatim, prefixed by the host with the
/// transform's name and the batch's sequence number, so say what is wrong and where
/// (the column, the config key, the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The JSON config given to `init` is not acceptable.
    InvalidConfig(String),
    /// The batch cannot be processed (missing column, wrong type, ...).
    InvalidInput(String),
    /// Anything else.
    Failed(String),
}

impl Error {
    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidConfig(m) | Error::InvalidInput(m) | Error::Failed(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig(m) => write!(f, "invalid config: {m}"),
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// An arrow kernel's error (a failed cast, an overflow, ...) is a [`Error::Failed`].
impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::Failed(e.to_string())
    }
}
