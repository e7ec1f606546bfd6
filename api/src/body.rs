//! `Body<T>`: a JSON request body with the schema of `T` in the OpenAPI document, whose errors
//! name the field at fault (`field `rows_loaded`: invalid type: string "many", expected i64`)
//! where the plain JSON payload would only name the type.

use poem::{Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use serde::de::DeserializeOwned;
use tokio::io::AsyncReadExt;

use crate::error::ApiError;

/// Largest request body accepted (1000 log lines of a few KiB each fit).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A JSON request body of type `T`.
pub struct Body<T>(pub T);

impl<T: Type> Payload for Body<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        content_type.parse::<mime::Mime>().is_ok_and(|m| {
            m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
        })
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON + DeserializeOwned> ParsePayload for Body<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        // Read at most one byte past the limit: a body without a length (HTTP/2, chunked)
        // cannot make the service buffer more than that.
        let mut data = Vec::new();
        body.take()?
            .into_async_read()
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut data)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if data.len() > MAX_BODY_BYTES {
            return Err(ApiError::payload_too_large(data.len()).into());
        }
        if data.is_empty() {
            return Err(ApiError::bad_request("the request needs a JSON body").into());
        }
        let value: serde_json::Value = serde_json::from_slice(&data)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
        match T::parse_from_json(Some(value)) {
            Ok(parsed) => Ok(Body(parsed)),
            Err(err) => Err(ApiError::bad_request(explain::<T>(&data, err.into_message())).into()),
        }
    }
}

/// The field at fault, found by reading the body again with serde; the schema's own message
/// when serde accepts it (a failed constraint: those messages already name the field).
fn explain<T: DeserializeOwned>(data: &[u8], schema_message: String) -> String {
    let mut reader = serde_json::Deserializer::from_slice(data);
    match serde_path_to_error::deserialize::<_, T>(&mut reader) {
        Err(e) if e.path().to_string() != "." => {
            format!("field `{}`: {}", e.path(), e.inner())
        }
        Err(e) => format!("invalid body: {}", e.inner()),
        Ok(_) => schema_message,
    }
}

poem_openapi::impl_apirequest_for_payload!(Body<T>, T: ParseFromJSON + DeserializeOwned);
