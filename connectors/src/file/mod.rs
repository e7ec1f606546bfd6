//! Files: the `file` source (CSV, JSON Lines, Parquet; a path or a glob) and the `file` target
//! (one file per worker, replaced atomically), and the formats they share with the `s3` target.

pub mod format;
pub mod source;
pub mod target;

pub use source::FileSource;
pub use target::FileTarget;
