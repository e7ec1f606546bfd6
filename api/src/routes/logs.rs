//! A run's log lines: posted in batches by its runner, read back by level, time or position.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::metrics::{check_items, Stored};
use super::{page_limit, ApiTags, State};
use crate::body::Body;
use crate::entities::log_line;
use crate::error::ApiResult;
use crate::ingest::Rows;
use crate::model::{Accepted, LogEntry, LogLevel, LogLine, LogPage};

/// Log operations.
pub struct LogsApi(pub State);

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Logs")]
impl LogsApi {
    /// Add lines to a run's log (1 to 1000 per request).
    #[oai(
        path = "/runs/:run_id/logs",
        method = "post",
        operation_id = "post_logs"
    )]
    async fn post(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
        body: Body<Vec<LogLine>>,
    ) -> ApiResult<Stored> {
        let lines = body.0;
        check_items(lines.len())?;
        self.0.require_run(&run_id.0).await?;
        let rows = lines
            .iter()
            .map(|l| crate::rows::log_row(l, &run_id.0))
            .collect();
        self.0.ingest(&run_id.0, Rows::Logs(rows)).await?;
        Ok(Stored::Created(Json(Accepted {
            accepted: lines.len() as u64,
        })))
    }

    /// A run's log lines, oldest first: the first `limit` that match, or the last ones with
    /// `tail`.
    #[oai(path = "/runs/:run_id/logs", method = "get", operation_id = "get_logs")]
    // Each argument is one query parameter of the operation.
    #[allow(clippy::too_many_arguments)]
    async fn get(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
        /// Minimum level (e.g. `warn` gives warnings and errors).
        level: Query<Option<LogLevel>>,
        /// Lines logged at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Lines logged at or before this time.
        to: Query<Option<DateTime<Utc>>>,
        /// Only lines after this id (to page, or to follow a running run).
        after_id: Query<Option<i64>>,
        /// Only lines whose message or origin contains this text (case-insensitive; on SQLite
        /// for ASCII letters only, other letters match as written).
        #[oai(validator(max_length = 500))]
        q: Query<Option<String>>,
        /// Lines at most (1 to 10000, default 1000).
        limit: Query<Option<u64>>,
        /// The last `limit` matching lines instead of the first (still oldest first).
        tail: Query<Option<bool>>,
    ) -> ApiResult<Json<LogPage>> {
        self.0.require_run(&run_id.0).await?;
        let limit = page_limit(limit.0, 1000, 10_000)?;
        let mut query =
            log_line::Entity::find().filter(log_line::Column::RunId.eq(run_id.0.as_str()));
        if let Some(level) = level.0 {
            query = query.filter(log_line::Column::Severity.gte(level.severity()));
        }
        if let Some(from) = from.0 {
            query = query.filter(log_line::Column::AtMs.gte(from.timestamp_millis()));
        }
        if let Some(to) = to.0 {
            query = query.filter(log_line::Column::AtMs.lte(to.timestamp_millis()));
        }
        if let Some(text) = q.0.as_deref().filter(|t| !t.is_empty()) {
            // Folded as the database folds `LOWER(…)`: SQLite's folds ASCII letters only.
            let folded = match self.0.backend {
                "postgres" => text.to_lowercase(),
                _ => text.to_ascii_lowercase(),
            };
            let pattern = LikeExpr::new(format!("%{}%", super::like_escape(&folded))).escape('\\');
            query = query.filter(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(log_line::Column::Message)))
                            .like(pattern.clone()),
                    )
                    .add(
                        Expr::expr(Func::lower(Expr::col(log_line::Column::Origin))).like(pattern),
                    ),
            );
        }
        if let Some(after) = after_id.0 {
            query = query.filter(log_line::Column::Id.gt(after));
        }
        let items = if tail.0.unwrap_or(false) {
            let mut last = query
                .order_by_desc(log_line::Column::Id)
                .limit(limit)
                .all(&self.0.db)
                .await?;
            last.reverse();
            last
        } else {
            query
                .order_by_asc(log_line::Column::Id)
                .limit(limit)
                .all(&self.0.db)
                .await?
        };
        Ok(Json(LogPage {
            items: items.into_iter().map(LogEntry::from).collect(),
        }))
    }
}
