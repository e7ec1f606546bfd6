//! On-disk cache of precompiled components, keyed by the wasm's SHA-256 and the engine's
//! compatibility hash, so a second run of the same component skips compilation.
//!
//! Loading precompiled code runs it as native code, so an entry is trusted only when it is
//! exactly what this build wrote:
//!
//! - every entry `{wasm sha256}-{engine}.cwasm` has a digest file `….cwasm.sha256` beside it,
//!   written after the entry; the entry is read into memory, hashed and compared before wasmtime
//!   sees a byte of it (and it is deserialized from that verified copy, so the file changing
//!   after the check does not matter). A missing, unreadable or mismatched digest means the
//!   entry is recompiled with a warning and written again;
//! - entries and digests are written to a fresh temporary file, synced and renamed into place;
//! - the directory is created private to the user (0700), and a directory (or an entry) that
//!   another user owns or can write to is not used at all: components are then compiled in
//!   memory, with a warning saying how to fix the directory.

use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Largest cache entry read back (a precompiled CPython or SpiderMonkey guest is ~60 MB).
const MAX_ENTRY_BYTES: u64 = 2 << 30;

/// Where precompiled components live.
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
    /// Whether `dir` is private to this user, checked (and the directory created) on first use.
    usable: OnceLock<bool>,
}

/// How a component was obtained, for logs and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the precompiled cache, its digest verified.
    Hit,
    /// Compiled now (and stored, when the cache is usable).
    Compiled,
}

impl ComponentCache {
    /// A cache in `dir`; `None` disables caching.
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            usable: OnceLock::new(),
        }
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

    /// The cache directory, when it exists (created if needed) and only this user can write it.
    fn private_dir(&self) -> Option<&Path> {
        let dir = self.dir.as_deref()?;
        let usable = *self.usable.get_or_init(|| match prepare_dir(dir) {
            Ok(()) => true,
            Err(why) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "not using the compiled-component cache: {why}; components are compiled on every run until this is fixed"
                );
                false
            }
        });
        usable.then_some(dir)
    }

    /// Load `wasm` as a component, from the cache when a verified entry exists.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, String, CacheOutcome)> {
        let digest = hex::encode(Sha256::digest(wasm));
        let Some(dir) = self.private_dir() else {
            return Ok((
                Component::new(engine, wasm)?,
                digest,
                CacheOutcome::Compiled,
            ));
        };
        let entry = Entry::new(dir, &digest, engine);
        match entry.read_verified() {
            Ok(Some(bytes)) => {
                // SAFETY: `bytes` are exactly what `Engine::precompile_component` of an engine with
                // this compatibility hash (part of the name) wrote: their SHA-256 matches the
                // digest recorded when they were stored, in a directory and files only this user
                // can write. wasmtime still checks the header and refuses an incompatible artifact.
                match unsafe { Component::deserialize(engine, &bytes) } {
                    Ok(component) => return Ok((component, digest, CacheOutcome::Hit)),
                    Err(e) => tracing::warn!(
                        path = %entry.path.display(),
                        "cached compiled component refused by the engine; recompiling: {e:#}"
                    ),
                }
            }
            Ok(None) => {}
            Err(why) => tracing::warn!(
                path = %entry.path.display(),
                "cached compiled component not used ({why}); recompiling"
            ),
        }
        let compiled = engine.precompile_component(wasm)?;
        if let Err(e) = entry.store(&compiled) {
            tracing::warn!(path = %entry.path.display(), "could not cache the compiled component: {e}");
        }
        // SAFETY: `compiled` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, digest, CacheOutcome::Compiled))
    }
}

/// One cache entry: the precompiled component and its digest file.
struct Entry {
    path: PathBuf,
    digest_path: PathBuf,
}

impl Entry {
    fn new(dir: &Path, wasm_digest: &str, engine: &Engine) -> Self {
        let name = format!("{wasm_digest}-{}.cwasm", engine_key(engine));
        Self {
            path: dir.join(&name),
            digest_path: dir.join(format!("{name}.sha256")),
        }
    }

    /// The entry's bytes when they match their recorded digest; `None` when there is no entry;
    /// an error saying why an existing entry cannot be trusted.
    fn read_verified(&self) -> Result<Option<Vec<u8>>, String> {
        let Some(bytes) = read_private(&self.path, MAX_ENTRY_BYTES)? else {
            return Ok(None);
        };
        let recorded = match read_private(&self.digest_path, 128)? {
            Some(text) => String::from_utf8_lossy(&text).trim().to_string(),
            None => return Err("its digest file is missing".into()),
        };
        let actual = hex::encode(Sha256::digest(&bytes));
        if recorded != actual {
            return Err(format!(
                "its content does not match the digest recorded when it was written (corrupted or modified: sha256 {actual}, recorded {recorded:.64})"
            ));
        }
        Ok(Some(bytes))
    }

    /// Store `compiled`, then its digest, each through a synced temporary file and a rename.
    fn store(&self, compiled: &[u8]) -> std::io::Result<()> {
        write_atomically(&self.path, compiled)?;
        let digest = hex::encode(Sha256::digest(compiled));
        write_atomically(&self.digest_path, format!("{digest}\n").as_bytes())
    }
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Create `dir` (private to the user) if missing, and check that only this user can write it.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create it: {e}"))?;
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot read its metadata: {e}"))?;
    if !meta.is_dir() {
        return Err("it is not a directory".into());
    }
    private_to_user(&meta).map_err(|why| {
        format!(
            "{why}, so another user could plant native code in it (fix: `chown $USER {0} && chmod 700 {0}`, or choose another directory with --cache-dir / FASTLANE_CACHE_DIR)",
            dir.display()
        )
    })
}

/// Whether a file or directory is owned by the current user and writable by no one else.
fn private_to_user(meta: &std::fs::Metadata) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Err(format!("it belongs to user id {}, not {uid}", meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!("others can write to it (mode {mode:o})"));
    }
    Ok(())
}

/// Read a cache file that must be a regular file private to this user (a symlink is refused,
/// not followed), at most `max` bytes; `None` when it does not exist.
fn read_private(path: &Path, max: u64) -> Result<Option<Vec<u8>>, String> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the metadata of {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    private_to_user(&meta).map_err(|why| format!("{}: {why}", path.display()))?;
    if meta.len() > max {
        return Err(format!(
            "{} is {} bytes, more than a cache file can be",
            path.display(),
            meta.len()
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(Some(bytes))
}

/// Write through a fresh temporary file (private, synced) renamed onto `path`, so a reader never
/// sees half a file and a crash leaves either the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".tmp-{}-{nanos}-{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    let written = (|| {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_directory_is_created_private_and_a_shared_one_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b/cache");
        prepare_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = prepare_dir(&dir).unwrap_err();
        assert!(why.contains("others can write to it (mode 777)"), "{why}");
        assert!(why.contains("chmod 700"), "{why}");
    }

    #[test]
    fn entries_round_trip_and_any_change_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry {
            path: dir.path().join("x.cwasm"),
            digest_path: dir.path().join("x.cwasm.sha256"),
        };
        assert_eq!(entry.read_verified(), Ok(None));
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        entry.store(&payload).unwrap();
        assert_eq!(entry.read_verified().unwrap().unwrap(), payload);
        let mode = std::fs::metadata(&entry.path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);

        for offset in [0, 1, 4096, 99_999] {
            let mut damaged = payload.clone();
            damaged[offset] ^= 0x40;
            std::fs::write(&entry.path, &damaged).unwrap();
            let why = entry.read_verified().unwrap_err();
            assert!(why.contains("does not match the digest"), "{why}");
        }
        std::fs::write(&entry.path, &payload[..10]).unwrap();
        assert!(
            entry.read_verified().is_err(),
            "a truncated entry is refused"
        );

        std::fs::write(&entry.path, &payload).unwrap();
        std::fs::remove_file(&entry.digest_path).unwrap();
        let why = entry.read_verified().unwrap_err();
        assert!(why.contains("digest file is missing"), "{why}");
    }

    #[test]
    fn links_and_shared_entries_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, b"bytes").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(read_private(&link, 100).is_err());

        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o666)).unwrap();
        let why = read_private(&real, 100).unwrap_err();
        assert!(why.contains("others can write"), "{why}");
    }
}
