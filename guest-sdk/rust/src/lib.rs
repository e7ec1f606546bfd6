//! Write fastlane transforms in Rust.
//!
//! A fastlane transform is a WebAssembly component implementing the `fastlane:transform`
//! world (see `wit/README.md`): it receives Apache Arrow IPC streams and returns Arrow IPC
//! streams. This crate hides the bindings, the IPC codec and the error mapping, so a
//! transform is a type implementing [`Transform`] plus one [`export!`] line:
//!
//! ```ignore
//! use fastlane_guest::{Error, Info, RecordBatch, Transform};
//!
//! struct Passthrough;
//!
//! impl Transform for Passthrough {
//!     fn describe() -> Info {
//!         Info::new("passthrough", env!("CARGO_PKG_VERSION"), "Returns its input unchanged")
//!     }
//!     fn init(_config: &str) -> Result<Self, Error> {
//!         Ok(Passthrough)
//!     }
//!     fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error> {
//!         Ok(batch)
//!     }
//! }
//!
//! fastlane_guest::export!(Passthrough);
//! ```
//!
//! Build the crate as a `cdylib` with `cargo build --release --target wasm32-wasip2`: the
//! resulting `.wasm` is a component the `fastlane` host loads.
#![warn(missing_docs)]

mod error;
mod export;
pub mod ipc;
pub mod log;

pub use error::Error;

/// Arrow arrays and `RecordBatch` (`arrow-array`).
pub use arrow_array as array;
/// Arrow buffers (`arrow-buffer`).
pub use arrow_buffer as buffer;
/// The Arrow IPC codec (`arrow-ipc`); [`ipc`] wraps what a transform usually needs.
pub use arrow_ipc;
/// Schemas, fields, data types and `ArrowError` (`arrow-schema`).
pub use arrow_schema as schema;
/// Selection kernels: `filter`, `take`, `concat`, `nullif`, ... (`arrow-select`).
pub use arrow_select as select;

/// Arithmetic and boolean kernels (`arrow-arith`), with the default `compute` feature.
#[cfg(feature = "compute")]
pub use arrow_arith as arith;
/// Casts between data types (`arrow-cast`), with the default `compute` feature.
#[cfg(feature = "compute")]
pub use arrow_cast as cast;
/// Comparison and sort kernels (`arrow-ord`), with the default `compute` feature.
#[cfg(feature = "compute")]
pub use arrow_ord as ord;

/// The types almost every transform touches.
pub use arrow_array::{Array, ArrayRef, RecordBatch};
/// The schema types almost every transform touches.
pub use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

/// A transform: a type built once per instance from its JSON config, then fed batches.
///
/// The host calls [`describe`](Transform::describe) (possibly on a fresh instance, before
/// anything else), then [`init`](Transform::init) once, then
/// [`transform`](Transform::transform) for every batch of the stream in order, then
/// [`finish`](Transform::finish) once at the end of the stream. An instance handles one
/// stream; state kept in `self` lives across batches. If a call traps or times out the host
/// discards the instance, so the next one starts again from `init`.
pub trait Transform: Sized + 'static {
    /// Name, version, description and JSON schema of the config. Must not depend on the config.
    fn describe() -> Info;

    /// Builds the transform from its JSON config (`"{}"` when the pipeline gives none).
    /// Reject a bad config with [`Error::InvalidConfig`]; [`parse_config`] does the usual.
    fn init(config: &str) -> Result<Self, Error>;

    /// Transforms one batch. Zero rows out and a different schema out are both valid, but
    /// every batch returned for one call must have the same schema.
    fn transform(&mut self, batch: RecordBatch) -> Result<RecordBatch, Error>;

    /// End of the stream: returns any buffered output. The default returns nothing.
    fn finish(&mut self) -> Result<Option<RecordBatch>, Error> {
        Ok(None)
    }

    /// Handles the raw bytes of one `transform` call. The default decodes the IPC stream,
    /// calls [`transform`](Transform::transform) on each batch and encodes the outputs into
    /// one IPC stream ([`ipc::transform_stream`]). Override it only to work on bytes.
    fn transform_ipc(&mut self, input: Vec<u8>) -> Result<Vec<u8>, Error> {
        ipc::transform_stream(self, input)
    }
}

/// What a transform says about itself; returned by [`Transform::describe`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Info {
    /// Short machine-friendly name, e.g. `mask`.
    pub name: String,
    /// Version of the transform (semver recommended), usually `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// One-line human description.
    pub description: String,
    /// JSON Schema (as a JSON document) that the config must satisfy; `{}` accepts anything.
    pub config_schema: String,
}

impl Info {
    /// An `Info` whose config schema accepts anything (`{}`); set `config_schema` to restrict it.
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            config_schema: "{}".into(),
        }
    }

    /// Sets the JSON schema of the config.
    pub fn with_config_schema(mut self, schema: &str) -> Self {
        self.config_schema = schema.into();
        self
    }
}

/// Parses a JSON config into `T`; a syntax or shape error becomes [`Error::InvalidConfig`]
/// naming the key at fault (`method: unknown variant ...`). An empty or blank config is read
/// as `{}`.
pub fn parse_config<T: serde::de::DeserializeOwned>(config: &str) -> Result<T, Error> {
    let config = if config.trim().is_empty() {
        "{}"
    } else {
        config
    };
    let mut reader = serde_json::Deserializer::from_str(config);
    serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let key = e.path().to_string();
        let message = e.into_inner().to_string();
        Error::InvalidConfig(if key == "." {
            message
        } else {
            format!("{key}: {message}")
        })
    })
}

/// The column called `name`, or [`Error::InvalidInput`] naming it and the columns present.
pub fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, Error> {
    batch.column_by_name(name).ok_or_else(|| {
        let present: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        Error::InvalidInput(format!(
            "column `{name}` not found (columns: {})",
            present.join(", ")
        ))
    })
}

/// Exports a [`Transform`] type as the component's `fastlane:transform/transformer` world.
///
/// Use it once, at the root of a `cdylib` crate: `fastlane_guest::export!(MyTransform);`.
#[macro_export]
macro_rules! export {
    ($transform:ty) => {
        const _: () = {
            type FastlaneGuestExport = $crate::__private::Adapter<$transform>;
            $crate::__private::export_transformer!(
                FastlaneGuestExport with_types_in $crate::__private::bindings
            );
        };
    };
}

/// Implementation details of [`export!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::bindings::export_transformer;
    pub use crate::export::{bindings, Adapter};
}
