//! The `file` target: one Parquet, CSV or JSON Lines file per target worker, made visible
//! atomically when the run commits.
//!
//! Each worker writes `.{name}.fastlane-tmp-{run_id}` beside its final path; `commit` renames
//! every temp file onto its final path (atomic on one filesystem: readers see the old file or
//! the new one, never a partial one), `abort` deletes them. With several workers each file is
//! replaced atomically, not the set as a whole.
//!
//! Each output file is locked for the run (`.{name}.fastlane-lock` beside it), so two runs never
//! write it at once; under the lock, temporary files a killed run left behind are removed.
//!
//! A run that delivers no batch at all (not even an empty one carrying the columns) leaves
//! CSV/JSON Lines targets as empty files. A Parquet file cannot be written without a schema,
//! so then nothing is written, the previous file (if any) stays, and a warning is logged. The
//! `file` and `generate` sources always deliver at least one batch, so this only happens when
//! a transform drops every batch.

mod config;
mod lock;
#[cfg(test)]
mod tests;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

pub use crate::file::format::ParquetCompression;
use config::Encoding;
pub use config::{Config, DEFAULT_ROW_GROUP_SIZE, WORKER_PLACEHOLDER};
pub use writer::FileWriter;

use crate::{ConnectorError, Result, Target, TargetConnector, TargetContext, Writer};

#[async_trait]
impl TargetConnector for FileTarget {
    type Config = Config;

    async fn open(config: Config, context: TargetContext) -> Result<Self> {
        let mut target = FileTarget::new(config, context)?;
        let files = target.files.clone();
        target._locks = tokio::task::spawn_blocking(move || lock_and_clean(&files))
            .await
            .map_err(|e| ConnectorError::Other(format!("file target: opening failed: {e}")))??;
        Ok(target)
    }
}

/// Take the run's lock on every output file, then remove the temporary files a run that
/// did not finish (killed outright) left beside them: under the lock they cannot be another
/// live run's.
fn lock_and_clean(files: &[WorkerFile]) -> Result<Vec<lock::OutputLock>> {
    let mut locks = Vec::with_capacity(files.len());
    for file in files {
        locks.push(lock::OutputLock::acquire(&file.final_path)?);
        let removed = lock::remove_leftovers(&file.final_path)?;
        if removed.files > 0 {
            tracing::warn!(
                path = %file.final_path.display(),
                "removed {} temporary file(s) ({} bytes) left by an earlier run that did not finish",
                removed.files,
                removed.bytes
            );
        }
    }
    Ok(locks)
}

/// A worker's final path and the temp file it writes until the run commits.
#[derive(Clone, Debug)]
pub(crate) struct WorkerFile {
    pub final_path: PathBuf,
    pub temp_path: PathBuf,
}

/// Where a worker's file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileState {
    /// No writer opened.
    Unopened,
    /// A writer is open; its temp file is being written.
    Writing,
    /// The writer finished: the temp file is complete.
    Written,
    /// The writer finished without a schema to write (Parquet, no batch): no file.
    Empty,
    /// Renamed onto the final path.
    Committed,
}

/// The configured output file(s) of a run.
pub struct FileTarget {
    target_id: String,
    encoding: Arc<Encoding>,
    files: Vec<WorkerFile>,
    states: Arc<Mutex<Vec<FileState>>>,
    /// The run's locks on its output files, released when the destination is dropped.
    _locks: Vec<lock::OutputLock>,
}

impl FileTarget {
    /// Check the config; nothing is touched on disk (the registry's `open` then takes the
    /// output files' locks and cleans an earlier run's leftovers).
    pub fn new(config: Config, context: TargetContext) -> Result<Self> {
        let encoding = config.encoding()?;
        let run = temp_tag(&context.run_id);
        let files: Vec<WorkerFile> = config
            .worker_paths()?
            .into_iter()
            .map(|final_path| {
                let temp_path =
                    final_path.with_file_name(format!("{}{run}", lock::temp_prefix(&final_path)));
                WorkerFile {
                    final_path,
                    temp_path,
                }
            })
            .collect();
        let states = Arc::new(Mutex::new(vec![FileState::Unopened; files.len()]));
        Ok(Self {
            target_id: config.path,
            encoding: Arc::new(encoding),
            files,
            states,
            _locks: Vec::new(),
        })
    }

    fn states(&self) -> MutexGuard<'_, Vec<FileState>> {
        lock(&self.states)
    }
}

#[async_trait]
impl Target for FileTarget {
    fn target_id(&self) -> String {
        self.target_id.clone()
    }

    fn workers(&self) -> usize {
        self.files.len()
    }

    fn needs_order(&self) -> bool {
        true
    }

    async fn writer(&self, worker: usize) -> Result<Box<dyn Writer>> {
        let file = self.files.get(worker).cloned().ok_or_else(|| {
            ConnectorError::Other(format!(
                "file target: no worker {worker} (concurrency {})",
                self.files.len()
            ))
        })?;
        let temp_path = file.temp_path.clone();
        let handle = tokio::task::spawn_blocking(move || create_file(&temp_path))
            .await
            .map_err(|e| {
                ConnectorError::Other(format!(
                    "file target: opening {} failed: {e}",
                    file.temp_path.display()
                ))
            })??;
        self.states()[worker] = FileState::Writing;
        Ok(Box::new(FileWriter::new(
            worker,
            file,
            handle,
            self.encoding.clone(),
            self.states.clone(),
        )))
    }

    async fn commit(&self) -> Result<()> {
        let mut to_rename = Vec::new();
        for (i, (state, file)) in self.states().iter().zip(&self.files).enumerate() {
            match state {
                FileState::Unopened | FileState::Committed => {}
                FileState::Writing => {
                    return Err(ConnectorError::Other(format!(
                        "file target: worker {i} has not finished writing {}; not committing",
                        file.final_path.display()
                    )))
                }
                FileState::Empty => tracing::warn!(
                    path = %file.final_path.display(),
                    "no batch reached the file target: no Parquet file written, the previous file (if any) is left as it was"
                ),
                FileState::Written => to_rename.push((i, file.clone())),
            }
        }
        let renamed = tokio::task::spawn_blocking(move || -> Result<Vec<usize>> {
            let mut done = Vec::new();
            for (i, file) in to_rename {
                std::fs::rename(&file.temp_path, &file.final_path)
                    .map_err(|e| ConnectorError::io(&file.final_path, e))?;
                sync_parent(&file.final_path);
                done.push(i);
            }
            Ok(done)
        })
        .await
        .map_err(|e| ConnectorError::Other(format!("file target: commit failed: {e}")))??;
        let mut states = self.states();
        for i in renamed {
            states[i] = FileState::Committed;
        }
        Ok(())
    }

    async fn abort(&self) -> Result<()> {
        let temps: Vec<PathBuf> = self.files.iter().map(|f| f.temp_path.clone()).collect();
        let result = tokio::task::spawn_blocking(move || {
            for temp in temps {
                match std::fs::remove_file(&temp) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(ConnectorError::io(temp, e))
                    }
                    _ => {}
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| ConnectorError::Other(format!("file target: abort failed: {e}")))?;
        for state in self.states().iter_mut() {
            if *state != FileState::Committed {
                *state = FileState::Unopened;
            }
        }
        result
    }
}

/// Lock the state table; a panic elsewhere while holding it leaves plain data, still usable.
pub(crate) fn lock(states: &Mutex<Vec<FileState>>) -> MutexGuard<'_, Vec<FileState>> {
    states
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The run id made safe for a file name (a fresh one when the run has none).
fn temp_tag(run_id: &str) -> String {
    if run_id.is_empty() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        return format!("{}-{nanos}", std::process::id());
    }
    run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Create (or truncate) `path`, creating missing parent directories.
fn create_file(path: &Path) -> Result<std::fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| ConnectorError::io(parent, e))?;
    }
    std::fs::File::create(path).map_err(|e| ConnectorError::io(path, e))
}

/// Persist a rename (best effort: not every platform can open a directory).
fn sync_parent(path: &Path) {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}
