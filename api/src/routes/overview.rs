//! What a dashboard needs in one request each: every pipeline with its last run and recent
//! history, and two runs compared stage by stage.

use std::collections::HashMap;

use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, OpenApi};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Statement, Value,
};

use super::{like_escape, page_limit, ApiTags, State, DEFAULT_PAGE};
use crate::entities::{metric_sample, run};
use crate::error::ApiResult;
use crate::model::{
    from_millis, PipelineSummary, PipelineSummaryPage, Run, RunBrief, RunComparison, RunStats,
    RunStatus, Stage, StageStats, StatusCounts,
};

/// Dashboard operations.
pub struct OverviewApi(pub State);

/// A pipeline's last run status, or `never` for a pipeline without runs.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum LastRunStatus {
    /// Last run still running.
    Running,
    /// Last run completed.
    Completed,
    /// Last run failed.
    Failed,
    /// Last run stopped on request.
    Exited,
    /// No run yet.
    Never,
}

/// Order of a pipeline list.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum SummaryOrder {
    /// Running ones first, then by their last activity, newest first.
    Recent,
    /// By id.
    Name,
}

/// The last run of each pipeline, by a correlated lookup on `(pipeline_id, started_at_ms)`.
const LAST_RUN: &str = "LEFT JOIN runs r ON r.id = (SELECT r2.id FROM runs r2 \
     WHERE r2.pipeline_id = p.id ORDER BY r2.started_at_ms DESC, r2.id DESC LIMIT 1)";

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Pipelines")]
impl OverviewApi {
    /// Pipelines with their last run and their recent runs' durations, in one request:
    /// filtered by name (a case-insensitive part of the id) and by last run status.
    #[oai(
        path = "/pipeline-summaries",
        method = "get",
        operation_id = "list_pipeline_summaries"
    )]
    async fn summaries(
        &self,
        /// Only pipelines whose id contains this text (case-insensitive).
        #[oai(validator(max_length = 200))]
        name: Query<Option<String>>,
        /// Only pipelines whose last run has this status (`never`: no run yet).
        status: Query<Option<LastRunStatus>>,
        /// `recent` (default): running first, then by last activity; `name`: by id.
        sort: Query<Option<SummaryOrder>>,
        /// Recent runs per pipeline (0 to 100, default 20).
        #[oai(validator(maximum(value = "100")))]
        recent: Query<Option<u64>>,
        /// Pipelines per page (1 to 1000, default 50).
        limit: Query<Option<u64>>,
        /// Pipelines to skip.
        #[oai(validator(maximum(value = "1000000000")))]
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<PipelineSummaryPage>> {
        let limit = page_limit(limit.0, DEFAULT_PAGE, 1000)?;
        let db = &self.0.db;
        let backend = db.get_database_backend();

        let mut filter = String::from("WHERE 1 = 1");
        let mut values: Vec<Value> = Vec::new();
        if let Some(name) = name.0.as_deref().filter(|n| !n.is_empty()) {
            filter.push_str(" AND LOWER(p.id) LIKE ? ESCAPE '\\'");
            values.push(format!("%{}%", like_escape(&name.to_lowercase())).into());
        }
        let counts = status_counts(db, backend, &filter, &values).await?;
        let total = match status.0 {
            None => {
                counts.running + counts.completed + counts.failed + counts.exited + counts.never
            }
            Some(s) => count_of(&counts, s),
        };
        match status.0 {
            None => {}
            Some(LastRunStatus::Never) => filter.push_str(" AND r.id IS NULL"),
            Some(s) => {
                filter.push_str(" AND r.status = ?");
                values.push(last_status_text(s).into());
            }
        }
        let order = match sort.0.unwrap_or(SummaryOrder::Recent) {
            SummaryOrder::Recent => {
                "CASE WHEN r.status = 'running' THEN 0 ELSE 1 END, \
                 COALESCE(r.started_at_ms, p.updated_at_ms) DESC, p.id"
            }
            SummaryOrder::Name => "p.id",
        };
        values.push((limit as i64).into());
        values.push((offset.0.unwrap_or(0) as i64).into());
        let rows = PageRow::find_by_statement(statement(
            backend,
            &format!(
                "SELECT p.id AS id, p.source_type AS source_type, p.target_type AS target_type, \
                 p.target_id AS target_id, p.updated_at_ms AS updated_at_ms, r.id AS last_run_id \
                 FROM pipelines p {LAST_RUN} {filter} ORDER BY {order} LIMIT ? OFFSET ?"
            ),
            values,
        ))
        .all(db)
        .await?;

        let last_ids: Vec<String> = rows.iter().filter_map(|r| r.last_run_id.clone()).collect();
        let mut last_runs: HashMap<String, Run> = if last_ids.is_empty() {
            HashMap::new()
        } else {
            run::Entity::find()
                .filter(run::Column::Id.is_in(last_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|m| (m.pipeline_id.clone(), Run::from(m)))
                .collect()
        };
        let recent_n = recent.0.unwrap_or(20) as i64;
        let mut recent_runs = recent_runs(db, backend, &rows, recent_n).await?;
        let items = rows
            .into_iter()
            .map(|r| PipelineSummary {
                last_run: last_runs.remove(&r.id),
                recent: recent_runs.remove(&r.id).unwrap_or_default(),
                id: r.id,
                source_type: r.source_type,
                target_type: r.target_type,
                target_id: r.target_id,
                updated_at: from_millis(r.updated_at_ms),
            })
            .collect();
        Ok(Json(PipelineSummaryPage {
            items,
            total,
            counts,
        }))
    }

    /// Two runs side by side: durations, counts, and each stage's throughput (over the run,
    /// mean and peak of its samples), peak memory and queues, Wasm time per batch.
    #[oai(
        path = "/run-comparison",
        method = "get",
        operation_id = "compare_runs"
    )]
    async fn compare(
        &self,
        /// The first run.
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        a: Query<String>,
        /// The second run.
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        b: Query<String>,
    ) -> ApiResult<Json<RunComparison>> {
        let mut runs = Vec::with_capacity(2);
        for id in [&a.0, &b.0] {
            runs.push(self.stats(id).await?);
        }
        Ok(Json(RunComparison { runs }))
    }
}

impl OverviewApi {
    async fn stats(&self, id: &str) -> ApiResult<RunStats> {
        let model = self.0.run(id).await?;
        let sampled = metric_sample::Entity::find()
            .filter(metric_sample::Column::RunId.eq(id))
            .select_only()
            .column_as(Expr::col(metric_sample::Column::Id).count(), "samples")
            .column_as(
                Expr::col(metric_sample::Column::ExtractRowsPerS).avg(),
                "extract_mean",
            )
            .column_as(
                Expr::col(metric_sample::Column::ExtractRowsPerS).max(),
                "extract_peak",
            )
            .column_as(
                Expr::col(metric_sample::Column::TransformRowsPerS).avg(),
                "transform_mean",
            )
            .column_as(
                Expr::col(metric_sample::Column::TransformRowsPerS).max(),
                "transform_peak",
            )
            .column_as(
                Expr::col(metric_sample::Column::LoadRowsPerS).avg(),
                "load_mean",
            )
            .column_as(
                Expr::col(metric_sample::Column::LoadRowsPerS).max(),
                "load_peak",
            )
            .column_as(Expr::col(metric_sample::Column::RssBytes).max(), "rss_peak")
            // Mean over the samples in which batches went through the guest.
            .column_as(
                Expr::cust("AVG(CASE WHEN wasm_ms_per_batch > 0 THEN wasm_ms_per_batch END)"),
                "wasm_mean",
            )
            .column_as(
                Expr::col(metric_sample::Column::QueueToTransform).max(),
                "queue_transform_peak",
            )
            .column_as(
                Expr::col(metric_sample::Column::QueueToTarget).max(),
                "queue_target_peak",
            )
            .into_model::<SampleStats>()
            .one(&self.0.db)
            .await?
            .unwrap_or_default();
        let finished = model.finished_at_ms;
        let end = finished.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let duration_ms = std::cmp::max(end.saturating_sub(model.started_at_ms), 0);
        let per_s = |rows: i64| {
            (finished.is_some() && duration_ms > 0)
                .then(|| rows as f64 * 1000.0 / duration_ms as f64)
        };
        let stages = vec![
            StageStats {
                stage: Stage::Extract,
                rows: model.rows_extracted,
                rows_per_s: per_s(model.rows_extracted),
                mean_rows_per_s: sampled.extract_mean,
                peak_rows_per_s: sampled.extract_peak,
            },
            StageStats {
                stage: Stage::Transform,
                rows: model.rows_transformed,
                rows_per_s: per_s(model.rows_transformed),
                mean_rows_per_s: sampled.transform_mean,
                peak_rows_per_s: sampled.transform_peak,
            },
            StageStats {
                stage: Stage::Load,
                rows: model.rows_loaded,
                rows_per_s: per_s(model.rows_loaded),
                mean_rows_per_s: sampled.load_mean,
                peak_rows_per_s: sampled.load_peak,
            },
        ];
        Ok(RunStats {
            run: model.into(),
            duration_ms: Some(duration_ms),
            stages,
            samples: u64::try_from(sampled.samples).unwrap_or(0),
            peak_rss_bytes: sampled.rss_peak,
            mean_wasm_ms_per_batch: sampled.wasm_mean,
            peak_queue_to_transform: sampled.queue_transform_peak,
            peak_queue_to_target: sampled.queue_target_peak,
        })
    }
}

/// Aggregates of a run's samples (all `None` without samples).
#[derive(Debug, Default, FromQueryResult)]
struct SampleStats {
    samples: i64,
    extract_mean: Option<f64>,
    extract_peak: Option<f64>,
    transform_mean: Option<f64>,
    transform_peak: Option<f64>,
    load_mean: Option<f64>,
    load_peak: Option<f64>,
    rss_peak: Option<i64>,
    wasm_mean: Option<f64>,
    queue_transform_peak: Option<i64>,
    queue_target_peak: Option<i64>,
}

/// A pipeline of a summary page, with its last run's id.
#[derive(Debug, FromQueryResult)]
struct PageRow {
    id: String,
    source_type: String,
    target_type: String,
    target_id: String,
    updated_at_ms: i64,
    last_run_id: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct StatusRow {
    status: String,
    n: i64,
}

#[derive(Debug, FromQueryResult)]
struct RecentRow {
    id: String,
    pipeline_id: String,
    status: String,
    started_at_ms: i64,
    finished_at_ms: Option<i64>,
    rows_loaded: i64,
}

/// Pipelines matching `filter`, by their last run's status.
async fn status_counts(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    filter: &str,
    values: &[Value],
) -> ApiResult<StatusCounts> {
    let rows = StatusRow::find_by_statement(statement(
        backend,
        &format!(
            "SELECT COALESCE(r.status, 'never') AS status, COUNT(*) AS n \
             FROM pipelines p {LAST_RUN} {filter} GROUP BY COALESCE(r.status, 'never')"
        ),
        values.to_vec(),
    ))
    .all(db)
    .await?;
    let mut counts = StatusCounts::default();
    for row in rows {
        let n = u64::try_from(row.n).unwrap_or(0);
        match row.status.as_str() {
            "running" => counts.running += n,
            "completed" => counts.completed += n,
            "failed" => counts.failed += n,
            "exited" => counts.exited += n,
            _ => counts.never += n,
        }
    }
    Ok(counts)
}

/// The last `n` runs of each pipeline of `page`, oldest first.
async fn recent_runs(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    page: &[PageRow],
    n: i64,
) -> ApiResult<HashMap<String, Vec<RunBrief>>> {
    let mut by_pipeline: HashMap<String, Vec<RunBrief>> = HashMap::new();
    if page.is_empty() || n == 0 {
        return Ok(by_pipeline);
    }
    // One index range per pipeline (`(pipeline_id, started_at_ms)`, newest first, `n` rows),
    // however many runs it has; in groups, as SQLite allows 500 terms in a compound SELECT.
    let mut rows = Vec::new();
    for group in page.chunks(200) {
        let one = "SELECT * FROM (SELECT id, pipeline_id, status, started_at_ms, finished_at_ms, \
                   rows_loaded FROM runs WHERE pipeline_id = ? \
                   ORDER BY started_at_ms DESC, id DESC LIMIT ?)";
        let sql = (0..group.len())
            .map(|i| format!("{one} recent_{i}"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let values: Vec<Value> = group
            .iter()
            .flat_map(|p| [Value::from(p.id.clone()), Value::from(n)])
            .collect();
        rows.extend(
            RecentRow::find_by_statement(statement(backend, &sql, values))
                .all(db)
                .await?,
        );
    }
    // Oldest first within each pipeline.
    rows.sort_by(|a, b| {
        (&a.pipeline_id, a.started_at_ms, &a.id).cmp(&(&b.pipeline_id, b.started_at_ms, &b.id))
    });
    for r in rows {
        by_pipeline
            .entry(r.pipeline_id)
            .or_default()
            .push(RunBrief {
                id: r.id,
                status: RunStatus::parse(&r.status).unwrap_or(RunStatus::Failed),
                started_at: from_millis(r.started_at_ms),
                duration_ms: r
                    .finished_at_ms
                    .map(|f| std::cmp::max(f - r.started_at_ms, 0)),
                rows_loaded: r.rows_loaded,
            });
    }
    Ok(by_pipeline)
}

fn count_of(counts: &StatusCounts, status: LastRunStatus) -> u64 {
    match status {
        LastRunStatus::Running => counts.running,
        LastRunStatus::Completed => counts.completed,
        LastRunStatus::Failed => counts.failed,
        LastRunStatus::Exited => counts.exited,
        LastRunStatus::Never => counts.never,
    }
}

fn last_status_text(status: LastRunStatus) -> &'static str {
    match status {
        LastRunStatus::Running => RunStatus::Running.as_str(),
        LastRunStatus::Completed => RunStatus::Completed.as_str(),
        LastRunStatus::Failed => RunStatus::Failed.as_str(),
        LastRunStatus::Exited => RunStatus::Exited.as_str(),
        LastRunStatus::Never => "never",
    }
}

/// A statement written with `?` placeholders, numbered (`$1`, `$2`, …) for PostgreSQL. The SQL
/// text of this module has no `?` other than placeholders.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let pg = statement(DbBackend::Postgres, "a = ? AND b IN (?, ?)", vec![]);
        assert_eq!(pg.sql, "a = $1 AND b IN ($2, $3)");
        let lite = statement(DbBackend::Sqlite, "a = ? AND b IN (?, ?)", vec![]);
        assert_eq!(lite.sql, "a = ? AND b IN (?, ?)");
    }
}
