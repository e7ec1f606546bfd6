//! `/api/v1/pipelines`: register, list, read and delete pipelines.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use sea_orm::sea_query::OnConflict;
use sea_orm::ActiveValue::Set;
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder, QuerySelect};

use super::{page_limit, ApiTags, NoContent, State, DEFAULT_PAGE};
use crate::body::Body;
use crate::entities::pipeline;
use crate::error::{ApiError, ApiResult};
use crate::model::{NewPipeline, Pipeline, PipelinePage, PipelineSpec};
use crate::redact::redact_config;

/// Pipeline operations.
pub struct PipelinesApi(pub State);

/// Answer of a PUT.
#[derive(ApiResponse)]
pub enum PutPipeline {
    /// Registered for the first time.
    #[oai(status = 201)]
    Created(Json<Pipeline>),
    /// Already known: source, target and config updated.
    #[oai(status = 200)]
    Updated(Json<Pipeline>),
}

/// Answer of a POST.
#[derive(ApiResponse)]
pub enum CreatedPipeline {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Pipeline>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Pipelines")]
impl PipelinesApi {
    /// Register a pipeline under `id`, or update it (what a runner does at the start of each
    /// run). Secrets in `config` are redacted before it is stored.
    #[oai(path = "/pipelines/:id", method = "put", operation_id = "put_pipeline")]
    async fn put(
        &self,
        #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[A-Za-z0-9._-]+$"))]
        id: Path<String>,
        body: Body<PipelineSpec>,
    ) -> ApiResult<PutPipeline> {
        let existed = pipeline::Entity::find_by_id(id.0.clone())
            .one(&self.0.db)
            .await?
            .is_some();
        let stored = self.upsert(&id.0, &body.0).await?;
        Ok(if existed {
            PutPipeline::Updated(Json(stored))
        } else {
            PutPipeline::Created(Json(stored))
        })
    }

    /// Create a pipeline; 409 if the id is taken.
    #[oai(path = "/pipelines", method = "post", operation_id = "create_pipeline")]
    async fn create(&self, body: Body<NewPipeline>) -> ApiResult<CreatedPipeline> {
        let NewPipeline { id, spec } = body.0;
        if pipeline::Entity::find_by_id(id.clone())
            .one(&self.0.db)
            .await?
            .is_some()
        {
            return Err(ApiError::conflict(format!(
                "pipeline `{id}` already exists"
            )));
        }
        let now = chrono::Utc::now().timestamp_millis();
        let row = row(&id, &spec, now);
        pipeline::Entity::insert(row)
            .exec_without_returning(&self.0.db)
            .await
            .map_err(|e| match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    ApiError::conflict(format!("pipeline `{id}` already exists"))
                }
                _ => e.into(),
            })?;
        Ok(CreatedPipeline::Created(Json(self.get_model(&id).await?)))
    }

    /// List pipelines by id.
    #[oai(path = "/pipelines", method = "get", operation_id = "list_pipelines")]
    async fn list(
        &self,
        /// Pipelines per page (1 to 1000, default 50).
        limit: Query<Option<u64>>,
        /// Pipelines to skip.
        #[oai(validator(maximum(value = "1000000000")))]
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<PipelinePage>> {
        let limit = page_limit(limit.0, DEFAULT_PAGE, 1000)?;
        let total = pipeline::Entity::find().count(&self.0.db).await?;
        let items = pipeline::Entity::find()
            .order_by_asc(pipeline::Column::Id)
            .offset(offset.0.unwrap_or(0))
            .limit(limit)
            .all(&self.0.db)
            .await?;
        Ok(Json(PipelinePage {
            items: items.into_iter().map(Pipeline::from).collect(),
            total,
        }))
    }

    /// One pipeline.
    #[oai(path = "/pipelines/:id", method = "get", operation_id = "get_pipeline")]
    async fn get(
        &self,
        #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[A-Za-z0-9._-]+$"))]
        id: Path<String>,
    ) -> ApiResult<Json<Pipeline>> {
        Ok(Json(self.get_model(&id.0).await?))
    }

    /// Delete a pipeline with its runs, metrics and logs.
    #[oai(
        path = "/pipelines/:id",
        method = "delete",
        operation_id = "delete_pipeline"
    )]
    async fn delete(
        &self,
        #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[A-Za-z0-9._-]+$"))]
        id: Path<String>,
    ) -> ApiResult<NoContent> {
        let deleted = pipeline::Entity::delete_by_id(id.0.clone())
            .exec(&self.0.db)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(ApiError::not_found(format!("no pipeline `{}`", id.0)));
        }
        self.0.known_runs.clear();
        Ok(NoContent::Done)
    }
}

impl PipelinesApi {
    async fn get_model(&self, id: &str) -> ApiResult<Pipeline> {
        pipeline::Entity::find_by_id(id.to_string())
            .one(&self.0.db)
            .await?
            .map(Pipeline::from)
            .ok_or_else(|| ApiError::not_found(format!("no pipeline `{id}`")))
    }

    /// Insert, or update everything but `created_at` (one statement: concurrent runners of the
    /// same pipeline cannot collide).
    async fn upsert(&self, id: &str, spec: &PipelineSpec) -> ApiResult<Pipeline> {
        let now = chrono::Utc::now().timestamp_millis();
        pipeline::Entity::insert(row(id, spec, now))
            .on_conflict(
                OnConflict::column(pipeline::Column::Id)
                    .update_columns([
                        pipeline::Column::SourceType,
                        pipeline::Column::TargetType,
                        pipeline::Column::TargetId,
                        pipeline::Column::Config,
                        pipeline::Column::UpdatedAtMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.0.db)
            .await?;
        self.get_model(id).await
    }
}

fn row(id: &str, spec: &PipelineSpec, now: i64) -> pipeline::ActiveModel {
    let config = serde_json::Value::Object(spec.config.clone().into_iter().collect());
    pipeline::ActiveModel {
        id: Set(id.to_string()),
        source_type: Set(crate::stored_text(&spec.source_type)),
        target_type: Set(crate::stored_text(&spec.target_type)),
        target_id: Set(crate::stored_text(&spec.target_id)),
        config: Set(redact_config(&config).to_string()),
        created_at_ms: Set(now),
        updated_at_ms: Set(now),
    }
}
