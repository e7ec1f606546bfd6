//! The HTTP operations, one module per resource. Each operation reads straight: validate, query
//! through sea-orm, map rows to the API's objects.

pub mod health;
pub mod live;
pub mod logs;
pub mod metrics;
pub mod overview;
pub mod pipelines;
pub mod runs;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use poem_openapi::{ApiResponse, Tags};
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::broadcast;

use crate::entities::run;
use crate::error::{ApiError, ApiResult};
use crate::ingest::{Ingest, IngestError};
use crate::telemetry::Telemetry;

/// Groups of operations in the docs.
#[derive(Tags)]
pub enum ApiTags {
    /// Pipelines: a source, a target and their config.
    Pipelines,
    /// Runs of a pipeline: status, offsets and row counts.
    Runs,
    /// A run's metric series and live stream.
    Metrics,
    /// A run's log lines.
    Logs,
    /// The service itself.
    Service,
}

/// What every operation shares.
pub struct AppState {
    /// The monitoring database.
    pub db: DatabaseConnection,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// What the service's token protects.
    pub auth: crate::model::AuthScope,
    /// Group commit of metric samples and log lines.
    pub ingest: Ingest,
    /// Run ids known to exist (saves a lookup per metrics POST).
    pub known_runs: KnownRuns,
    /// Run ids with new data, to wake their live streams.
    pub changes: broadcast::Sender<Arc<str>>,
    /// The service's own counters.
    pub telemetry: Telemetry,
}

/// The shared state as operations hold it.
pub type State = Arc<AppState>;

/// A bounded set of run ids known to exist.
#[derive(Default)]
pub struct KnownRuns(Mutex<HashSet<String>>);

const MAX_KNOWN_RUNS: usize = 100_000;

impl KnownRuns {
    fn contains(&self, id: &str) -> bool {
        self.lock().contains(id)
    }
    fn insert(&self, id: &str) {
        let mut set = self.lock();
        if set.len() >= MAX_KNOWN_RUNS {
            set.clear();
        }
        set.insert(id.to_string());
    }
    /// Forget `id` (the run was deleted).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
    /// Forget every id (a pipeline and its runs were deleted).
    pub fn clear(&self) {
        self.lock().clear();
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl AppState {
    /// The run `id`, or 404.
    pub async fn run(&self, id: &str) -> ApiResult<run::Model> {
        let found = run::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?;
        let found = found.ok_or_else(|| ApiError::not_found(format!("no run `{id}`")))?;
        self.known_runs.insert(id);
        Ok(found)
    }

    /// 404 unless run `id` exists (cached: runs are rarely deleted).
    pub async fn require_run(&self, id: &str) -> ApiResult<()> {
        if !self.known_runs.contains(id) {
            self.run(id).await?;
        }
        Ok(())
    }

    /// Tell live streams of run `id` there is something new.
    pub fn changed(&self, id: &str) {
        let _ = self.changes.send(Arc::from(id));
    }

    /// Store rows through the group commit; an unknown run (deleted meanwhile) is a 404.
    pub async fn ingest(&self, run_id: &str, rows: crate::ingest::Rows) -> ApiResult<()> {
        match self.ingest.store(rows).await {
            Ok(()) => {
                self.changed(run_id);
                Ok(())
            }
            Err(IngestError::Db(e)) => {
                self.known_runs.remove(run_id);
                self.run(run_id).await?;
                Err(e.into())
            }
            Err(e) => Err(ApiError::unavailable(e.to_string())),
        }
    }
}

/// An empty 204 answer.
#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: u64 = 50;

/// `limit` bounded to `1..=max`, `default` when absent.
pub fn page_limit(limit: Option<u64>, default: u64, max: u64) -> ApiResult<u64> {
    match limit {
        None => Ok(default),
        Some(0) => Err(ApiError::bad_request("`limit` must be at least 1")),
        Some(n) if n > max => Err(ApiError::bad_request(format!(
            "`limit` must be at most {max}"
        ))),
        Some(n) => Ok(n),
    }
}

/// `text` for a `LIKE … ESCAPE '\'` pattern: its `%`, `_` and `\` match themselves.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn like_patterns_match_their_text_literally() {
        assert_eq!(like_escape("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(like_escape("mysql-s3"), "mysql-s3");
    }
}
