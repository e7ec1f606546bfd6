//! Error responses: every 4xx/5xx carries `{"error": reason, "message": cause}`, in the OpenAPI
//! document and out of it (parse errors, unknown routes).

use poem::http::StatusCode;
use poem::Response;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// The body of every error response.
#[derive(Object, Clone, Debug, serde::Serialize)]
pub struct ErrorBody {
    /// The HTTP reason phrase (e.g. `Not Found`).
    pub error: String,
    /// What went wrong, naming the field or resource at fault.
    pub message: String,
}

/// The errors an operation can answer with.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request is malformed: a field has the wrong type or fails its constraint.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// A write without the service's bearer token.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// No such pipeline or run.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The change conflicts with the stored state (e.g. a finished run's status).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// A write without a `Content-Length`.
    #[oai(status = 411)]
    LengthRequired(Json<ErrorBody>),
    /// A body over 16 MiB.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// A body that is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// The service's database failed.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is unreachable or the write queue is full; retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn body(status: StatusCode, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        error: status.canonical_reason().unwrap_or("Error").to_string(),
        message: message.into(),
    })
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(body(StatusCode::BAD_REQUEST, message))
    }
    /// 401 with `message`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::Unauthorized(body(StatusCode::UNAUTHORIZED, message))
    }
    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(body(StatusCode::NOT_FOUND, message))
    }
    /// 409 with `message`.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::Conflict(body(StatusCode::CONFLICT, message))
    }
    /// 413 for a body of `bytes` bytes (or more).
    pub fn payload_too_large(bytes: usize) -> Self {
        ApiError::PayloadTooLarge(body(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body has {bytes} bytes or more; at most {} are accepted",
                crate::body::MAX_BODY_BYTES
            ),
        ))
    }
    /// 503 with `message`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::Unavailable(body(StatusCode::SERVICE_UNAVAILABLE, message))
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!("database error: {e}");
        match e {
            sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => {
                ApiError::unavailable(format!("the service's database is unavailable: {e}"))
            }
            // The details (SQL, table names) stay in the service's log.
            _ => ApiError::Internal(body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the service's database failed; its log has the details",
            )),
        }
    }
}

/// Shorthand for operation results.
pub type ApiResult<T> = Result<T, ApiError>;

/// Turn any error that escaped an operation (a request that failed to parse, an unknown route,
/// a wrong method) into the same JSON body the documented errors have.
pub async fn to_json_error(err: poem::Error) -> Response {
    let response = err.into_response();
    let status = response.status();
    let is_json = response
        .headers()
        .get(poem::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let text = response.into_body().into_string().await.unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let body = serde_json::to_string(&body(status, message).0).unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body)
}
