//! `/healthz` and `/metrics`.

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};
use sea_orm::ConnectionTrait;

use super::{ApiTags, State};
use crate::error::{ApiError, ApiResult};
use crate::model::Health;

/// The service's own endpoints.
pub struct HealthApi(pub State);

/// A Prometheus text exposition.
#[derive(ApiResponse)]
pub enum Exposition {
    /// The metrics.
    #[oai(
        status = 200,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    )]
    Ok(PlainText<String>),
}

#[OpenApi(tag = "ApiTags::Service")]
impl HealthApi {
    /// Liveness and database reachability.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn health(&self) -> ApiResult<Json<Health>> {
        self.0
            .db
            .execute_unprepared("SELECT 1")
            .await
            .map_err(|e| ApiError::unavailable(format!("database unreachable: {e}")))?;
        Ok(Json(Health {
            status: "ok".into(),
            database: self.0.backend.into(),
            auth: self.0.auth,
        }))
    }

    /// Prometheus metrics: requests, group commits, runs by status, and the latest sample of
    /// each running run.
    #[oai(path = "/metrics", method = "get", operation_id = "prometheus_metrics")]
    async fn metrics(&self) -> ApiResult<Exposition> {
        let text = self.0.telemetry.render(&self.0.db).await?;
        Ok(Exposition::Ok(PlainText(text)))
    }
}
