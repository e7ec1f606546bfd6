//! The run's lock on an output file, and the leftovers of runs that did not finish.
//!
//! The lock is an advisory `flock` on `.{name}.fastlane-lock` beside the output: the kernel
//! releases it when the process ends however it ends, so a killed run never leaves a stale
//! lock. The lock file is removed when the run lets go of it; a run that finds the file
//! replaced after locking it (removed by the run that held it just before) locks the new one.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::{ConnectorError, Result};

/// `.{name}{suffix}` beside `path`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}{suffix}"))
}

/// The prefix of the temporary files the `file` target writes beside `path`.
pub(super) fn temp_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.fastlane-tmp-")
}

/// A held lock on one output file.
#[derive(Debug)]
pub(crate) struct OutputLock {
    path: PathBuf,
    _file: File,
}

impl OutputLock {
    /// Lock `output` for this run, or say which run holds it.
    pub(super) fn acquire(output: &Path) -> Result<Self> {
        let path = sibling(output, ".fastlane-lock");
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| ConnectorError::io(parent, e))?;
        }
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| ConnectorError::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(ConnectorError::Other(format!(
                        "target.file: another run is writing {} (its lock {} is held); try again when it ends",
                        output.display(),
                        path.display()
                    )))
                }
                Err(TryLockError::Error(e)) => return Err(ConnectorError::io(&path, e)),
            }
            let same = match (std::fs::metadata(&path), file.metadata()) {
                (Ok(on_disk), Ok(locked)) => {
                    on_disk.ino() == locked.ino() && on_disk.dev() == locked.dev()
                }
                _ => false,
            };
            if same {
                return Ok(Self { path, _file: file });
            }
        }
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked: a run waiting on this file finds it gone and starts over.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What [`remove_leftovers`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Removed {
    pub files: usize,
    pub bytes: u64,
}

/// Remove the temporary files beside `output` (only call while holding its lock).
pub(super) fn remove_leftovers(output: &Path) -> Result<Removed> {
    let dir = match output.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    let prefix = temp_prefix(output);
    let mut removed = Removed::default();
    let entries = std::fs::read_dir(&dir).map_err(|e| ConnectorError::io(&dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ConnectorError::io(&dir, e))?;
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(|e| ConnectorError::io(entry.path(), e))?;
        if !meta.is_file() {
            continue;
        }
        std::fs::remove_file(entry.path()).map_err(|e| ConnectorError::io(entry.path(), e))?;
        removed.files += 1;
        removed.bytes += meta.len();
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_at_a_time_and_the_lock_file_goes_with_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sub/out.parquet");
        let held = OutputLock::acquire(&out).unwrap();
        let err = OutputLock::acquire(&out).unwrap_err().to_string();
        assert!(err.contains("another run is writing"), "{err}");
        drop(held);
        assert!(!dir.path().join("sub/.out.parquet.fastlane-lock").exists());
        let again = OutputLock::acquire(&out).unwrap();
        drop(again);
    }

    #[test]
    fn only_this_outputs_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.parquet");
        std::fs::write(dir.path().join(".out.parquet.fastlane-tmp-run1"), b"12345").unwrap();
        std::fs::write(dir.path().join(".out.parquet.fastlane-tmp-run2"), b"1").unwrap();
        std::fs::write(dir.path().join(".other.parquet.fastlane-tmp-run1"), b"1").unwrap();
        std::fs::write(dir.path().join("out.parquet"), b"old").unwrap();
        let removed = remove_leftovers(&out).unwrap();
        assert_eq!(removed, Removed { files: 2, bytes: 6 });
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".other.parquet.fastlane-tmp-run1", "out.parquet"]);
    }
}
