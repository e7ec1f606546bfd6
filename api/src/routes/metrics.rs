//! A run's metric series: posted by its runner every interval, read back by time range.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::{ApiResponse, OpenApi};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{page_limit, ApiTags, State};
use crate::body::Body;
use crate::entities::metric_sample;
use crate::error::{ApiError, ApiResult};
use crate::ingest::Rows;
use crate::model::{Accepted, MetricSample, MetricSeries, RunEvent};

/// Metric operations.
pub struct MetricsApi(pub State);

/// Items a single POST may carry.
pub const MAX_ITEMS_PER_POST: usize = 1000;

/// Answer of a POST of samples or lines.
#[derive(ApiResponse)]
pub enum Stored {
    /// Stored (committed) before the answer.
    #[oai(status = 201)]
    Created(Json<Accepted>),
}

/// The live stream of a run.
#[derive(ApiResponse)]
pub enum Live {
    /// Server-sent events, each a JSON `RunEvent`.
    #[oai(status = 200)]
    Events(EventStream<futures_util::stream::BoxStream<'static, RunEvent>>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Metrics")]
impl MetricsApi {
    /// Add samples to a run's series (1 to 1000 per request).
    #[oai(
        path = "/runs/:run_id/metrics",
        method = "post",
        operation_id = "post_metrics"
    )]
    async fn post(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
        body: Body<Vec<MetricSample>>,
    ) -> ApiResult<Stored> {
        let samples = body.0;
        check_items(samples.len())?;
        self.0.require_run(&run_id.0).await?;
        let rows = samples
            .iter()
            .map(|s| crate::rows::sample_row(s, &run_id.0))
            .collect();
        self.0.ingest(&run_id.0, Rows::Samples(rows)).await?;
        if let Some(latest) = samples.iter().max_by_key(|s| s.at) {
            self.running_counts(&run_id.0, latest).await?;
        }
        Ok(Stored::Created(Json(Accepted {
            accepted: samples.len() as u64,
        })))
    }

    /// A run's samples, oldest first, optionally within `[from, to]`. With `points`, the range
    /// is downsampled on the service to at most that many samples, each summing up an equal
    /// slice of time: the slice's last time and counters, its mean rates and Wasm time, its
    /// highest memory and queue depths (so peaks stay visible).
    #[oai(
        path = "/runs/:run_id/metrics",
        method = "get",
        operation_id = "get_metrics"
    )]
    async fn get(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
        /// Samples taken at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Samples taken at or before this time.
        to: Query<Option<DateTime<Utc>>>,
        /// Samples at most (1 to 10000, default 1000); ignored with `points`.
        limit: Query<Option<u64>>,
        /// Downsample to at most this many samples (2 to 10000).
        #[oai(validator(minimum(value = "2"), maximum(value = "10000")))]
        points: Query<Option<u64>>,
    ) -> ApiResult<Json<MetricSeries>> {
        self.0.require_run(&run_id.0).await?;
        let limit = page_limit(limit.0, 1000, 10_000)?;
        let mut query = metric_sample::Entity::find()
            .filter(metric_sample::Column::RunId.eq(run_id.0.as_str()));
        if let Some(from) = from.0 {
            query = query.filter(metric_sample::Column::AtMs.gte(from.timestamp_millis()));
        }
        if let Some(to) = to.0 {
            query = query.filter(metric_sample::Column::AtMs.lte(to.timestamp_millis()));
        }
        let (total, first, last) = query
            .clone()
            .select_only()
            .column_as(Expr::col(metric_sample::Column::Id).count(), "n")
            .column_as(Expr::col(metric_sample::Column::AtMs).min(), "first")
            .column_as(Expr::col(metric_sample::Column::AtMs).max(), "last")
            .into_tuple::<(i64, Option<i64>, Option<i64>)>()
            .one(&self.0.db)
            .await?
            .unwrap_or((0, None, None));
        let total = u64::try_from(total).unwrap_or(0);
        if let (Some(points), Some(first), Some(last)) = (points.0, first, last) {
            if total > points {
                let items = downsample(query, first, last, points as i64)
                    .all(&self.0.db)
                    .await?;
                return Ok(Json(MetricSeries {
                    items: items.into_iter().map(MetricSample::from).collect(),
                    total,
                }));
            }
        }
        let limit = if points.0.is_some() {
            std::cmp::max(total, 1)
        } else {
            limit
        };
        let items = query
            .order_by_asc(metric_sample::Column::AtMs)
            .order_by_asc(metric_sample::Column::Id)
            .limit(limit)
            .all(&self.0.db)
            .await?;
        Ok(Json(MetricSeries {
            items: items.into_iter().map(MetricSample::from).collect(),
            total,
        }))
    }

    /// Watch a run live: server-sent events, each a JSON object with a `type` — `run` (the run
    /// record: first, on every change, and last), `sample` (a new metric sample) or `log` (a
    /// new log line). The stream ends after the run finishes.
    #[oai(
        path = "/runs/:run_id/metrics/stream",
        method = "get",
        operation_id = "stream_run"
    )]
    async fn stream(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
        /// `false`: leave out the samples and lines stored before the stream opened (a client
        /// that reads the history itself, downsampled). Default `true`.
        history: Query<Option<bool>>,
    ) -> ApiResult<Live> {
        let run = self.0.run(&run_id.0).await?;
        let events = super::live::events(self.0.clone(), run, history.0.unwrap_or(true)).await?;
        Ok(Live::Events(
            EventStream::new(events).keep_alive(std::time::Duration::from_secs(15)),
        ))
    }
}

impl MetricsApi {
    /// A running run's record follows its newest sample's counts (a runner reports them in
    /// the run itself only when it ends), so lists and comparisons show where it stands. Never
    /// lowers them, and leaves a finished run alone.
    async fn running_counts(&self, run_id: &str, latest: &MetricSample) -> ApiResult<()> {
        use crate::entities::run;
        let updated = run::Entity::update_many()
            .col_expr(
                run::Column::RowsExtracted,
                Expr::value(latest.rows_extracted),
            )
            .col_expr(
                run::Column::RowsTransformed,
                Expr::value(latest.rows_transformed),
            )
            .col_expr(run::Column::RowsLoaded, Expr::value(latest.rows_loaded))
            .col_expr(
                run::Column::UpdatedAtMs,
                Expr::value(chrono::Utc::now().timestamp_millis()),
            )
            .filter(run::Column::Id.eq(run_id))
            .filter(run::Column::Status.eq(crate::model::RunStatus::Running.as_str()))
            .filter(run::Column::RowsLoaded.lte(latest.rows_loaded))
            .filter(run::Column::RowsExtracted.lte(latest.rows_extracted))
            .exec(&self.0.db)
            .await?;
        if updated.rows_affected > 0 {
            self.0.changed(run_id);
        }
        Ok(())
    }
}

/// `query`'s samples in `points` equal slices of `[first, last]`, one sample each (see `get`).
fn downsample(
    query: sea_orm::Select<metric_sample::Entity>,
    first: i64,
    last: i64,
    points: i64,
) -> sea_orm::Selector<sea_orm::SelectModel<metric_sample::Model>> {
    use metric_sample::Column as C;
    let span = std::cmp::max(last - first, 0) + 1;
    let slice = Expr::col(C::AtMs).sub(first).mul(points).div(span);
    query
        .select_only()
        .column_as(Expr::col(C::Id).max(), "id")
        .column_as(Expr::col(C::RunId).max(), "run_id")
        .column_as(Expr::col(C::AtMs).max(), "at_ms")
        .column_as(Expr::col(C::RowsExtracted).max(), "rows_extracted")
        .column_as(Expr::col(C::RowsTransformed).max(), "rows_transformed")
        .column_as(Expr::col(C::RowsLoaded).max(), "rows_loaded")
        .column_as(Expr::col(C::ExtractRowsPerS).avg(), "extract_rows_per_s")
        .column_as(
            Expr::col(C::TransformRowsPerS).avg(),
            "transform_rows_per_s",
        )
        .column_as(Expr::col(C::LoadRowsPerS).avg(), "load_rows_per_s")
        .column_as(Expr::col(C::ExtractBytesPerS).avg(), "extract_bytes_per_s")
        .column_as(Expr::col(C::RssBytes).max(), "rss_bytes")
        .column_as(Expr::col(C::QueueToTransform).max(), "queue_to_transform")
        .column_as(Expr::col(C::QueueToTarget).max(), "queue_to_target")
        // Over the samples in which batches went through the guest (an idle interval says 0).
        .column_as(
            Expr::cust(
                "COALESCE(AVG(CASE WHEN wasm_ms_per_batch > 0 THEN wasm_ms_per_batch END), 0.0)",
            ),
            "wasm_ms_per_batch",
        )
        .group_by(slice)
        .order_by_asc(Expr::col(C::AtMs).max())
        .into_model::<metric_sample::Model>()
}

/// 400 unless `1..=MAX_ITEMS_PER_POST` items came.
pub fn check_items(n: usize) -> ApiResult<()> {
    if n == 0 || n > MAX_ITEMS_PER_POST {
        return Err(ApiError::bad_request(format!(
            "the body must hold 1 to {MAX_ITEMS_PER_POST} items, not {n}"
        )));
    }
    Ok(())
}
