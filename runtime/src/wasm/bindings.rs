//! Host bindings generated from `wit/transform.wit`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "transformer",
});

pub use self::Error as GuestError;

/// What a transform says about itself (its `describe` export).
#[derive(Clone, Debug, serde::Serialize)]
pub struct TransformInfo {
    /// Short name, e.g. `mask`.
    pub name: String,
    /// The transform's own version.
    pub version: String,
    /// One-line description.
    pub description: String,
    /// JSON schema of the transform's config (`{}` accepts anything).
    pub config_schema: serde_json::Value,
}
