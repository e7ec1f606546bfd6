//! Runs: created by a runner when it starts, updated as it goes, finished once.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{page_limit, ApiTags, NoContent, State, DEFAULT_PAGE};
use crate::body::Body;
use crate::entities::{pipeline, run};
use crate::error::{ApiError, ApiResult};
use crate::model::{NewRun, Run, RunPage, RunStatus, RunUpdate};

/// Run operations.
pub struct RunsApi(pub State);

/// Answer of a run creation.
#[derive(ApiResponse)]
pub enum CreatedRun {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Run>),
    /// A run with this id already exists for this pipeline (a retried create): it is returned
    /// unchanged.
    #[oai(status = 200)]
    Existing(Json<Run>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Runs")]
impl RunsApi {
    /// Start a run of a pipeline. Idempotent when the runner sends its own run id.
    #[oai(
        path = "/pipelines/:id/runs",
        method = "post",
        operation_id = "create_run"
    )]
    async fn create(
        &self,
        #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[A-Za-z0-9._-]+$"))]
        id: Path<String>,
        body: Body<NewRun>,
    ) -> ApiResult<CreatedRun> {
        let pipeline_id = id.0;
        self.require_pipeline(&pipeline_id).await?;
        let new = body.0;
        let run_id = new
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        if let Some(existing) = run::Entity::find_by_id(run_id.clone())
            .one(&self.0.db)
            .await?
        {
            return existing_run(existing, &pipeline_id);
        }
        let now = chrono::Utc::now().timestamp_millis();
        let status = new.status.unwrap_or(RunStatus::Running);
        let row = run::ActiveModel {
            id: Set(run_id.clone()),
            pipeline_id: Set(pipeline_id.clone()),
            status: Set(status.as_str().into()),
            started_at_ms: Set(new.started_at.map_or(now, |t| t.timestamp_millis())),
            finished_at_ms: Set(status.is_finished().then_some(now)),
            replication_mode: Set(new.details.replication_mode.map(|m| m.as_str().into())),
            start_offset: Set(new.details.start_offset.as_deref().map(crate::stored_text)),
            end_offset: Set(None),
            rows_extracted: Set(0),
            rows_transformed: Set(0),
            rows_loaded: Set(0),
            rows_dropped: Set(0),
            error: Set(None),
            transform_name: Set(new
                .details
                .transform_name
                .as_deref()
                .map(crate::stored_text)),
            transform_hash: Set(new
                .details
                .transform_hash
                .as_deref()
                .map(crate::stored_text)),
            transform_version: Set(new
                .details
                .transform_version
                .as_deref()
                .map(crate::stored_text)),
            updated_at_ms: Set(now),
        };
        if let Err(e) = run::Entity::insert(row)
            .exec_without_returning(&self.0.db)
            .await
        {
            // Two creates with the same id raced: the other one won.
            if let Some(existing) = run::Entity::find_by_id(run_id.clone())
                .one(&self.0.db)
                .await?
            {
                return existing_run(existing, &pipeline_id);
            }
            // The pipeline was deleted meanwhile.
            self.require_pipeline(&pipeline_id).await?;
            return Err(e.into());
        }
        self.0.changed(&run_id);
        Ok(CreatedRun::Created(Json(self.0.run(&run_id).await?.into())))
    }

    /// A pipeline's runs, newest first.
    #[oai(
        path = "/pipelines/:id/runs",
        method = "get",
        operation_id = "list_runs"
    )]
    async fn list(
        &self,
        #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[A-Za-z0-9._-]+$"))]
        id: Path<String>,
        /// Only runs with this status.
        status: Query<Option<RunStatus>>,
        /// Runs per page (1 to 1000, default 50).
        limit: Query<Option<u64>>,
        /// Runs to skip.
        #[oai(validator(maximum(value = "1000000000")))]
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<RunPage>> {
        self.require_pipeline(&id.0).await?;
        let limit = page_limit(limit.0, DEFAULT_PAGE, 1000)?;
        let mut query = run::Entity::find().filter(run::Column::PipelineId.eq(id.0.as_str()));
        if let Some(status) = status.0 {
            query = query.filter(run::Column::Status.eq(status.as_str()));
        }
        let total = query.clone().count(&self.0.db).await?;
        let items = query
            .order_by_desc(run::Column::StartedAtMs)
            .order_by_desc(run::Column::Id)
            .offset(offset.0.unwrap_or(0))
            .limit(limit)
            .all(&self.0.db)
            .await?;
        Ok(Json(RunPage {
            items: items.into_iter().map(Run::from).collect(),
            total,
        }))
    }

    /// The pipeline's most recent run.
    #[oai(
        path = "/pipelines/:id/runs/latest",
        method = "get",
        operation_id = "latest_run"
    )]
    async fn latest(
        &self,
        #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[A-Za-z0-9._-]+$"))]
        id: Path<String>,
    ) -> ApiResult<Json<Run>> {
        self.require_pipeline(&id.0).await?;
        run::Entity::find()
            .filter(run::Column::PipelineId.eq(id.0.as_str()))
            .order_by_desc(run::Column::StartedAtMs)
            .order_by_desc(run::Column::Id)
            .one(&self.0.db)
            .await?
            .map(|r| Json(r.into()))
            .ok_or_else(|| ApiError::not_found(format!("pipeline `{}` has no runs", id.0)))
    }

    /// One run.
    #[oai(path = "/runs/:run_id", method = "get", operation_id = "get_run")]
    async fn get(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
    ) -> ApiResult<Json<Run>> {
        Ok(Json(self.0.run(&run_id.0).await?.into()))
    }

    /// Update a run's status, offsets, counts or error while it runs. A finished run does not
    /// change: the same final status again (a retried final update) is answered with the run as
    /// stored, anything else is a 409.
    #[oai(path = "/runs/:run_id", method = "patch", operation_id = "update_run")]
    async fn update(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
        body: Body<RunUpdate>,
    ) -> ApiResult<Json<Run>> {
        let current = self.0.run(&run_id.0).await?;
        let update = body.0;
        if let Some(done) = finished_run(&current, update.status)? {
            return Ok(Json(done));
        }
        let mut row = current.into_active_model();
        if let Some(next) = update.status {
            row.status = Set(next.as_str().into());
            if next.is_finished() && update.finished_at.is_none() {
                row.finished_at_ms = Set(Some(chrono::Utc::now().timestamp_millis()));
            }
        }
        if let Some(t) = update.finished_at {
            row.finished_at_ms = Set(Some(t.timestamp_millis()));
        }
        if let Some(m) = update.details.replication_mode {
            row.replication_mode = Set(Some(m.as_str().into()));
        }
        let text = |v: Option<String>| v.as_deref().map(crate::stored_text);
        if let Some(v) = text(update.details.start_offset) {
            row.start_offset = Set(Some(v));
        }
        if let Some(v) = text(update.end_offset) {
            row.end_offset = Set(Some(v));
        }
        if let Some(v) = text(update.error) {
            row.error = Set(Some(v));
        }
        if let Some(v) = text(update.details.transform_name) {
            row.transform_name = Set(Some(v));
        }
        if let Some(v) = text(update.details.transform_hash) {
            row.transform_hash = Set(Some(v));
        }
        if let Some(v) = text(update.details.transform_version) {
            row.transform_version = Set(Some(v));
        }
        for (value, column) in [
            (update.rows_extracted, &mut row.rows_extracted),
            (update.rows_transformed, &mut row.rows_transformed),
            (update.rows_loaded, &mut row.rows_loaded),
            (update.rows_dropped, &mut row.rows_dropped),
        ] {
            if let Some(v) = value {
                *column = Set(v);
            }
        }
        row.updated_at_ms = Set(chrono::Utc::now().timestamp_millis());
        // Applied only while the run is still running: of two concurrent final updates, one
        // wins and the other is answered as if it came after.
        let applied = run::Entity::update_many()
            .set(row)
            .filter(run::Column::Id.eq(run_id.0.as_str()))
            .filter(run::Column::Status.eq(RunStatus::Running.as_str()))
            .exec(&self.0.db)
            .await?;
        let stored = self.0.run(&run_id.0).await?;
        if applied.rows_affected == 0 {
            if let Some(done) = finished_run(&stored, update.status)? {
                return Ok(Json(done));
            }
        }
        self.0.changed(&run_id.0);
        Ok(Json(stored.into()))
    }

    /// Delete a run with its metrics and logs.
    #[oai(path = "/runs/:run_id", method = "delete", operation_id = "delete_run")]
    async fn delete(
        &self,
        #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
        run_id: Path<String>,
    ) -> ApiResult<NoContent> {
        let deleted = run::Entity::delete_by_id(run_id.0.clone())
            .exec(&self.0.db)
            .await?;
        self.0.known_runs.remove(&run_id.0);
        if deleted.rows_affected == 0 {
            return Err(ApiError::not_found(format!("no run `{}`", run_id.0)));
        }
        Ok(NoContent::Done)
    }
}

impl RunsApi {
    async fn require_pipeline(&self, id: &str) -> ApiResult<()> {
        let found = pipeline::Entity::find_by_id(id.to_string())
            .select_only()
            .column(pipeline::Column::Id)
            .into_tuple::<String>()
            .one(&self.0.db)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found(format!("no pipeline `{id}`"))),
        }
    }
}

/// A finished run does not change: the same final status again (a retried final update) gets the
/// run as stored, anything else a 409. `None` while the run is still running.
fn finished_run(run: &run::Model, next: Option<RunStatus>) -> ApiResult<Option<Run>> {
    let status = RunStatus::parse(&run.status).unwrap_or(RunStatus::Failed);
    if !status.is_finished() {
        return Ok(None);
    }
    match next {
        Some(next) if next == status => Ok(Some(run.clone().into())),
        Some(next) => Err(ApiError::conflict(format!(
            "run `{}` is {} and cannot become {}",
            run.id,
            status.as_str(),
            next.as_str()
        ))),
        None => Err(ApiError::conflict(format!(
            "run `{}` is {}: a finished run does not change",
            run.id,
            status.as_str()
        ))),
    }
}

fn existing_run(existing: run::Model, pipeline_id: &str) -> ApiResult<CreatedRun> {
    if existing.pipeline_id == pipeline_id {
        Ok(CreatedRun::Existing(Json(existing.into())))
    } else {
        Err(ApiError::conflict(format!(
            "run `{}` belongs to pipeline `{}`",
            existing.id, existing.pipeline_id
        )))
    }
}
