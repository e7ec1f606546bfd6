//! Errors a connector reports; each names the thing at fault.

use std::path::PathBuf;

/// Result of a connector operation.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// An error from a source or a target.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The connector's config is not acceptable; `path` is the JSON path (`source.file.path`).
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file's schema differs from the schema of the run (the first file read, or the first
    /// batch written); `message` says how.
    #[error("{}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    /// The data could not be decoded or encoded (names the file, row or column).
    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A Parquet file could not be read or written.
    #[error("{context}: {source}")]
    Parquet {
        context: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Anything else, with a message naming the cause.
    #[error("{0}")]
    Other(String),
}

impl ConnectorError {
    /// A config error at `path`.
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            path: path.into(),
            message: message.into(),
        }
    }
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// An error and its causes on one line (`…: tcp connect error: Connection refused`); a cause
/// whose text the line already holds is left out.
pub fn chain(error: &dyn std::error::Error) -> String {
    with_causes(error.to_string(), error.source())
}

/// `text`, then `cause` and its own causes, as [`chain`] writes them.
pub fn with_causes(
    mut text: String,
    mut cause: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(current) = cause {
        let current_text = current.to_string();
        if !text.contains(&current_text) {
            text.push_str(": ");
            text.push_str(&current_text);
        }
        cause = current.source();
    }
    text
}
