//! On-disk cache of precompiled components, keyed by the wasm's SHA-256 and the engine's
//! compatibility hash, so a second run of the same component skips compilation.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Where precompiled components live.
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
}

/// How a component was obtained, for logs and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the precompiled cache.
    Hit,
    /// Compiled now (and stored, when the cache is writable).
    Compiled,
}

impl ComponentCache {
    /// A cache in `dir`; `None` disables caching.
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// The default cache directory: `$FASTLANE_CACHE_DIR`, else `$XDG_CACHE_HOME/fastlane`,
    /// else `~/.cache/fastlane`.
    pub(crate) fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("FASTLANE_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("fastlane"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("fastlane"))
    }

    /// Load `wasm` as a component, from the cache when possible.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, String, CacheOutcome)> {
        let digest = hex::encode(Sha256::digest(wasm));
        let Some(dir) = &self.dir else {
            return Ok((
                Component::new(engine, wasm)?,
                digest,
                CacheOutcome::Compiled,
            ));
        };
        let path = dir.join(format!("{digest}-{}.cwasm", engine_key(engine)));
        if path.is_file() {
            // SAFETY: the file was written by `Engine::precompile_component` of an engine with
            // the same compatibility hash (part of the file name), into our own cache directory;
            // wasmtime still validates the header and refuses an incompatible artifact.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, digest, CacheOutcome::Hit)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable cached component: {e:#}")
                }
            }
        }
        let compiled = engine.precompile_component(wasm)?;
        if let Err(e) = store_atomically(&path, &compiled) {
            tracing::warn!(path = %path.display(), "could not cache the compiled component: {e}");
        }
        // SAFETY: `compiled` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, digest, CacheOutcome::Compiled))
    }
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Write through a temporary file and rename, so a concurrent reader never sees half a file.
fn store_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("c")
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
